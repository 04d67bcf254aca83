// Internals of libatr_preload.so, shared by its translation units.
//
// Memory layout: one ThreadRegion per recording thread, mmap'd (never from
// the libc heap), linked into a push-only global list so crash, exec and
// exit paths can flush every thread's records. A region holds the thread's
// 64 KiB chunk buffer, a small side buffer for events recorded from signal
// handlers that interrupt a hook, the direct-mapped cache of stack hashes
// this thread already sent, and the table walk's memo of the thread's last
// stack (unwind/walk_memo.h; its pages are touched only as deep as the
// stacks go).
//
// Invariants:
//   - Only the owning thread appends to a region's buffer; anyone writing it
//     out holds flush_lock, and writes [flushed, used) as one chunk.
//   - `used` only grows between flushes, and a record below `used` is
//     complete (release-store after the record is written).
//   - Compact events in buf are delta-coded from the start of buf (where
//     `delta` is zero); a chunk written from the middle of buf is opened
//     with a DeltaBaseRecord recomputed from the records before it.
//   - Hooks that record hold a HookScope (tls.depth == 1); every function
//     that appends takes that scope by reference.
#ifndef ATR_RECORDER_PRELOAD_PRELOAD_H_
#define ATR_RECORDER_PRELOAD_PRELOAD_H_

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "db/ops.h"
#include "recorder/preload/unwind/walk_memo.h"
#include "recorder/spool_format.h"

#define ATR_EXPORT extern "C" __attribute__((visibility("default")))
#define ATR_LIKELY(x) __builtin_expect(!!(x), 1)
#define ATR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ATR_NOINLINE __attribute__((noinline))

struct dl_phdr_info;  // <link.h>

namespace atr::preload {

inline constexpr uint32_t kBufferBytes = 64 * 1024;   // one chunk at most
inline constexpr uint32_t kHeaderReserve = sizeof(spool::ChunkHeader);
inline constexpr uint32_t kSideBytes = 4096;          // signal-handler events
inline constexpr uint32_t kStackCacheEntries = 4096;  // hashes sent, per thread
inline constexpr uint32_t kMaxDepthLimit = 512;       // cap on ATR_MAX_DEPTH
inline constexpr uint32_t kCaptureSlack = 16;  // frames of ours and libunwind's
inline constexpr uint32_t kMemoFrames = kMaxDepthLimit + kCaptureSlack;
inline constexpr uint64_t kLiveWord = 0x4154524C49564531ull;  // "1EVILRTA"

enum class RegionState : uint32_t { kFree = 0, kActive = 1, kRetired = 2 };

struct ThreadRegion {
  std::atomic<uint32_t> state;       // RegionState
  std::atomic<uint32_t> flush_lock;  // tid of the thread writing it out, or 0
  std::atomic<uint32_t> used;        // end of complete records in buf
  std::atomic<uint32_t> flushed;     // start of records not yet written
  uint32_t tid;                      // owner
  uint32_t creator_tid;              // 0 for a process's first thread
  uint64_t first_tsc;                // tsc of the oldest unwritten record
  uint64_t flush_ticks;              // max age before a flush; 0: write-through
  uint64_t stack_lo, stack_hi;       // owner's stack, 0 if unknown
  ThreadRegion* next;                // global list (push-only)
  struct ShadowFrame* shadow;        // --stack-ops call stack, kept when the
                                     // region is reused (hooks_stack_ops.cc)
  spool::DeltaBase delta;            // encoder state after buf's last record
                                     // (owner only; zero when buf is empty)
  std::atomic<uint32_t> side_used;   // bytes reserved in side[]
  std::atomic<uint32_t> side_lost;   // events dropped (side full), unreported
  alignas(64) uint8_t side[kSideBytes];
  uint64_t stack_cache[kStackCacheEntries];
  unwind::WalkMemo walk_memo;  // owner only; set up by InitRegion
  alignas(64) uint8_t buf[kBufferBytes];
  unwind::MemoFrame memo_frames[2][kMemoFrames];
};

// Trivially constructible, initial-exec TLS: no TLS wrapper calls, no
// __cxa_thread_atexit (which would calloc and recurse).
struct ThreadLocal {
  uint32_t depth;        // 1 while a hook records; >1 never (nesting = signal)
  uint32_t internal;     // >0: the library's own code or the program's
                         // allocator (ForwardingScope) runs; hooks forward
  ThreadRegion* region;  // nullptr until the thread's first recorded event
  uint32_t creator_tid;  // set by the pthread_create trampoline
  uint32_t exit_passes;  // pthread key destructor passes seen
  uint32_t exit_recorded;
  uint32_t need_thread_record;  // send a ThreadRecord with the next event
};
extern __thread ThreadLocal tls __attribute__((tls_model("initial-exec")));

enum class Unwinder : uint32_t { kLibunwind = 1, kFramePointer = 2, kNone = 3, kTable = 4 };
enum class GlobalState : int { kUninit = 0, kInitializing, kRecording, kDisabled };

// Constant-initialized; written only during init and in a forked child.
struct Globals {
  std::atomic<int> state;
  // Points at a word holding kLiveWord in a MADV_WIPEONFORK page once
  // recording; reads 0 in a forked child (and while not recording).
  const volatile uint64_t* live;
  spool::ControlPage* control;
  int spool_fd;
  uint32_t pid;
  uint32_t image;
  Unwinder unwinder;
  uint32_t max_depth;
  bool free_stacks;
  bool stack_ops;             // ATR_STACK_OPS=1: record function enter/exit
  uint64_t flush_ticks;       // ~100 ms in tsc ticks
  uintptr_t self_lo, self_hi;  // this library's mapping, trimmed from stacks
  std::atomic<ThreadRegion*> regions;
  std::atomic<uint64_t> pending_lost;  // lost before a region could report
};
extern Globals g;

inline uint64_t ReadTsc() { return __builtin_ia32_rdtsc(); }
inline bool InSelf(uint64_t pc) { return pc - g.self_lo < g.self_hi - g.self_lo; }
inline uint64_t NextSeq() {
  return g.control->next_seq.fetch_add(1, std::memory_order_relaxed) + 1;
}

// ---- initialization and process state (process_state.cc)
void EnsureInitialized();  // lazy global init; may end disabled
bool IsRecording();
// Sets up a forked child (new spool file, ProcessRecord, modules); no-op if
// already done. Called by the fork hook and by any hook that notices a fork.
void OnForkedChild();
ThreadRegion* InitThisThread();  // the calling thread's first recorded event
void FinishThread(bool final);   // kThreadExit, ThreadRecord, flush
uint32_t Gettid();
void CountLost(uint64_t n);  // adds to ControlPage::lost_events
const char* SpoolDir();
const char* SelfPath();  // absolute path of libatr_preload.so
const char* ExePath();
int SavedEnvCount();
const char* SavedEnv(int i);  // "ATR_UNWIND=fp" etc. as found at init, or ""

// ---- the re-entrancy guard
struct EventStamp {
  uint64_t seq;
  uint64_t tsc;
};

// Every hook constructs one. recording(): this thread records this call into
// its buffer; nested(): a signal handler interrupted a recording hook on
// this thread, the event goes to the side buffer without a stack; otherwise
// the hook only forwards to the real function.
class HookScope {
 public:
  HookScope() {
    ThreadLocal& t = tls;
    if (ATR_LIKELY(*g.live == kLiveWord &&
                   (t.depth | t.internal | t.need_thread_record) == 0 && t.region != nullptr)) {
      t.depth = 1;
      mode_ = kRecord;
      return;
    }
    mode_ = EnterSlow();
  }
  ~HookScope() {
    if (mode_ == kRecord) Leave();
  }
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;

  bool active() const { return mode_ != kForward; }
  bool recording() const { return mode_ == kRecord; }

  // Takes the event's place in the global order. Releases call it before the
  // real call, acquisitions after it returns. The time is read first: read
  // after the seq's locked add, rdtsc waited for it to complete (~15 ns more
  // per event on unwind_event_bench).
  EventStamp Stamp() const {
    uint64_t tsc = ReadTsc();
    return {NextSeq(), tsc};
  }
  // Captures, interns and (first time on this thread) emits the caller's
  // stack; 0 if nested, disabled, or `release` and ATR_FREE_STACKS=0.
  // Inline up to the capture: most releases take no stack and pay no call.
  uint64_t Stack(bool release) const {
    if (mode_ != kRecord || g.unwinder == Unwinder::kNone || (release && !g.free_stacks)) {
      return 0;
    }
    return CaptureAndIntern();
  }
  // The stamp goes on as two scalars: as a struct parameter GCC kept it in
  // memory and copied it into the encoder's state as one 16-byte load of two
  // 8-byte stores (a store-forwarding stall per event).
  void Emit(Op op, EventStamp st, uint64_t addr, uint64_t size, uint64_t arg,
            uint64_t stack) const {
    EmitAt(op, st.seq, st.tsc, addr, size, arg, stack);
  }
  // Both in one, for events that take their seq after the call.
  void Record(Op op, uint64_t addr, uint64_t size, uint64_t arg,
              bool release = false) const {
    if (!active()) return;
    EventStamp st = Stamp();
    Emit(op, st, addr, size, arg, Stack(release));
  }

 private:
  enum Mode : uint8_t { kForward, kRecord, kNested };
  Mode EnterSlow();
  uint64_t CaptureAndIntern() const;
  void EmitAt(Op op, uint64_t seq, uint64_t tsc, uint64_t addr, uint64_t size, uint64_t arg,
              uint64_t stack) const;
  static inline void Leave();
  Mode mode_;
};

// RAII: the library's own calls into libc (pthread_getattr_np, dlsym,
// libunwind's first use...) run with hooks forwarding, not recording. All
// signals are blocked meanwhile, so whatever reaches a hook then is the
// library's own doing, never a signal handler's (those are recorded). Only
// for rare paths: two syscalls.
class InternalScope {
 public:
  InternalScope() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_);
    ++tls.internal;
  }
  ~InternalScope() {
    --tls.internal;
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  InternalScope(const InternalScope&) = delete;
  InternalScope& operator=(const InternalScope&) = delete;

 private:
  sigset_t old_;
};

// RAII, around a hook's call of the program's allocator (next_functions.h):
// what the allocator calls into hooked functions meanwhile (its own entry
// points, as jemalloc's free or mimalloc's mi_reallocf may; mmap; libstdc++'s
// operator new calling malloc) is part of the call being recorded, so it
// forwards without recording. Two plain TLS updates, no syscall: a signal
// handler that interrupts the allocator itself forwards unrecorded too
// (allocating there is undefined behaviour for every allocator anyway).
class ForwardingScope {
 public:
  ForwardingScope() { ++tls.internal; }
  ~ForwardingScope() { --tls.internal; }
  ForwardingScope(const ForwardingScope&) = delete;
  ForwardingScope& operator=(const ForwardingScope&) = delete;
};

// ---- thread buffers (thread_buffer.cc)
ThreadRegion* AcquireRegion();  // REQUIRES: InternalScope
void Append(const HookScope& scope, const void* rec, uint32_t bytes,
            uint64_t tsc);
// Appends an event, compact when it fits (spool_compact.h). REQUIRES:
// recording scope.
void AppendEvent(const HookScope& scope, const spool::EventRecord& e);
void AppendSide(ThreadRegion* r, const void* rec, uint32_t bytes);
void DrainSide(ThreadRegion* r);
// Inline: every recorded event leaves through it (two loads, no call).
inline void HookScope::Leave() {
  ThreadLocal& t = tls;
  ThreadRegion* r = t.region;
  if (ATR_UNLIKELY(r->side_used.load(std::memory_order_relaxed) != 0 ||
                   r->side_lost.load(std::memory_order_relaxed) != 0)) {
    DrainSide(r);
  }
  t.depth = 0;
}
// Writes this thread's buffer as one chunk. REQUIRES: recording scope.
void FlushOwn(const HookScope& scope);
// Best effort: writes every region's complete records (own included) without
// waiting for locks held by others. from_signal: async-signal-safe (crash
// handlers); otherwise module changes are written first.
// REQUIRES: from_signal, or a recording HookScope (or InternalScope).
void FlushAllRegions(bool from_signal);
// Writes `bytes` of records as one chunk tagged with tid (not via a buffer).
// `scratch` must have kHeaderReserve writable bytes before `records`.
bool WriteDirectChunk(uint8_t* records, uint32_t bytes, uint32_t tid);
void EmitThreadRecord(const HookScope& scope, bool exiting = false);
// Every region of a dead parent's threads becomes free; own region emptied.
void ResetRegionsAfterFork(ThreadRegion* own);
// After process exit begins: every later event is written immediately.
void SetWriteThroughAll();

// ---- stacks (stack_capture.cc)
void InitUnwinderForThread();  // REQUIRES: InternalScope
// Captures the caller's stack into pcs (room for max + kCaptureSlack
// entries): the stack is pcs[*first, *first + depth), innermost first,
// interposition frames dropped; *hash is its id (unwind/stack_hash.h) when
// depth > 0. Returns depth. REQUIRES: a recording HookScope (the table
// walk's memo in r is the owner's).
uint32_t CaptureStack(uint64_t* pcs, uint32_t max, ThreadRegion* r, uint64_t* hash,
                      uint32_t* first);
// The table unwinder's view of the loaded modules (modules.cc calls these
// under its lock, for objects it adds to or drops from its table).
void NoteModuleLoaded(const ::dl_phdr_info* info, uint64_t lo, uint64_t hi);
void NoteModuleUnloaded(uint64_t lo, uint64_t hi);
// The frame of the code that called into this library: the innermost
// return address outside it, and the sp and rbp that code has once our
// frames return. Found through our own frame pointers (the library is built
// with them), within r's stack; false if the chain leaves it. Inline: the
// result stays in registers (a 24-byte struct through memory, read back
// at once, stalled the table walk on store forwarding).
struct ForeignFrame {
  uint64_t ra, sp, rbp;
};
__attribute__((always_inline)) inline bool InnermostForeignFrame(const ThreadRegion* r,
                                                                 ForeignFrame* out) {
  uintptr_t lo = r->stack_lo, hi = r->stack_hi;
  auto fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  for (int i = 0; i < 32 && fp >= lo && fp + 16 <= hi && (fp & 7) == 0; ++i) {
    const auto* frame = reinterpret_cast<const uintptr_t*>(fp);
    if (!InSelf(frame[1])) {
      *out = ForeignFrame{frame[1], fp + 16, frame[0]};
      return true;
    }
    if (frame[0] <= fp) break;
    fp = frame[0];
  }
  return false;
}
// With --stack-ops: the caller's call site, then the thread's shadow call
// stack (hooks_stack_ops.cc), innermost first; no unwinding.
uint32_t CaptureShadowStack(uint64_t* pcs, uint32_t max, const ThreadRegion* r);

// ---- modules (modules.cc)
// Writes ModuleRecords for objects loaded/unloaded since the last call (all
// of them if force_all), directly to the spool as their own chunks, before
// the caller writes chunks that may name their pcs.
// REQUIRES: a recording HookScope or InternalScope on this thread (a signal
// handler reaching it again on the same thread would spin on its lock).
void SyncModules(bool force_all);
void ResetModulesAfterFork();

// ---- signals (signals.cc)
void InstallCrashHandlers();

// ---- small helpers without libc heap or stdio (process_state.cc)
size_t StrLen(const char* s);
char* AppendStr(char* p, const char* end, const char* s);
char* AppendUint(char* p, const char* end, uint64_t v);
const char* GetEnv(const char* name);  // reads environ; no allocation
void* MapAnon(size_t bytes);           // raw syscall mmap; nullptr on failure
void UnmapRaw(void* p, size_t bytes);

}  // namespace atr::preload

#endif  // ATR_RECORDER_PRELOAD_PRELOAD_H_
