// Stack operations (--stack-ops): the -finstrument-functions hooks.
//
// A program built with -finstrument-functions calls
// __cyg_profile_func_enter(fn, call_site) after each instrumented function's
// prologue and __cyg_profile_func_exit(fn, call_site) before its epilogue
// (also when an exception unwinds through it). Ours override the empty ones
// in glibc. With ATR_STACK_OPS=1 each call:
//   - records a kFuncEnter/kFuncExit EventRecord (addr = fn, arg = call
//     site, sp_depth from the function's own SP) in the thread's buffer,
//     with a seq from the thread's seq block (below);
//   - pushes/pops (call site, SP) on the thread's shadow call stack, which
//     CaptureShadowStack hands to every event of the thread instead of an
//     unwound stack.
// Without ATR_STACK_OPS they return after one load and branch.
//
// Shadow stack memory: one mapping of kShadowFrames entries per
// ThreadRegion (reserved, touched only as deep as the program goes), kept
// when the region is reused by a later thread. Frames deeper than that are
// counted but not stored (their pops restore nothing wrong: entries below
// stay intact).
//
// longjmp and similar skip exits: a push first drops stale entries whose SP
// is at or below the new frame's SP (frames that cannot be live callers),
// and an exit drops entries strictly below its own SP before popping.
//
// Seq blocks: a fetch_add on the shared control page per event was half of
// the hook's cost (docs/benchmarks.md, "Stack operations"). A thread
// reserves a block of seqs with one fetch_add and numbers its enter/exit
// events from it for as long as nobody has taken a seq since (next_seq
// still equals the block's last seq: one plain load of a line that stays
// shared while nobody writes it). So every event numbered from the block
// comes after every seq taken before the reservation and before every seq
// taken after it, in this thread (its heap events) and in any other; global
// order is as exact as with a fetch_add per event, up to the race between
// the check and the store. Once anyone takes a seq, the block's rest is
// dropped (a gap in the trace's seqs) and the next event reserves anew. The
// block doubles (1, 2, 4 ... kMaxSeqBlock) each time it is used up intact
// and restarts at 1 when dropped, so the dropped seqs never outnumber the
// ones used: a busy multi-threaded program pays about what it paid before,
// a recursion-heavy thread one fetch_add per kMaxSeqBlock events.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/preload/preload.h"

#define ATR_NO_INSTRUMENT __attribute__((no_instrument_function))

namespace atr::preload {

struct ShadowFrame {
  uint64_t call_site;  // return address into the caller
  uint64_t sp;         // the instrumented function's SP at entry
};

namespace {

constexpr uint32_t kShadowFrames = 1u << 20;  // 16 MiB reserved per region
constexpr uint64_t kMaxSeqBlock = 4096;

// Per-thread view of its region's shadow stack, and its seq block.
// Trivially constructed, initial-exec (see preload.h).
struct ShadowTls {
  ShadowFrame* frames;         // region->shadow, or nullptr before first use
  const ThreadRegion* owner;   // region the frames belong to
  uint32_t depth;              // live entries (may exceed kShadowFrames)
  uint32_t seq_pid;            // g.pid when the block was reserved
  uint64_t seq_next;           // next seq of the block
  uint64_t seq_last;           // its last; seq_next > seq_last: used up
  uint64_t seq_block;          // seqs the next reservation takes (0 = 1)
};
__thread ShadowTls t_shadow __attribute__((tls_model("initial-exec")));

ATR_NO_INSTRUMENT ATR_NOINLINE ShadowFrame* MapShadow(ThreadRegion* r) {
  long m = syscall(SYS_mmap, nullptr, size_t{kShadowFrames} * sizeof(ShadowFrame),
                   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == -1) return nullptr;
  r->shadow = reinterpret_cast<ShadowFrame*>(m);
  return r->shadow;
}

// The calling thread's shadow stack, set up on first use or when the
// thread's region changed. nullptr: no memory (events still recorded).
ATR_NO_INSTRUMENT inline ShadowTls* Shadow() {
  ShadowTls* s = &t_shadow;
  ThreadRegion* r = tls.region;
  if (ATR_UNLIKELY(s->owner != r)) {
    if (r == nullptr) return nullptr;
    s->frames = r->shadow != nullptr ? r->shadow : MapShadow(r);
    s->owner = r;
    s->depth = 0;
  }
  return s->frames != nullptr ? s : nullptr;
}

ATR_NO_INSTRUMENT inline uint32_t Depth(const ThreadRegion* r, uint64_t sp) {
  uint64_t d = sp - r->stack_lo < r->stack_hi - r->stack_lo ? r->stack_hi - sp : 0;
  return d > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(d);
}

// The seq of an enter/exit event recorded in the thread's own buffer (not
// from a signal handler: those take a global one, the block is not theirs).
ATR_NO_INSTRUMENT inline uint64_t BlockSeq() {
  ShadowTls& s = t_shadow;
  std::atomic<uint64_t>& next = g.control->next_seq;
  if (ATR_LIKELY(s.seq_next <= s.seq_last && next.load(std::memory_order_relaxed) == s.seq_last &&
                 s.seq_pid == g.pid)) {
    return s.seq_next++;
  }
  // Used up intact: double it; dropped (someone took a seq): start over.
  bool intact = s.seq_next > s.seq_last && s.seq_last != 0 &&
                next.load(std::memory_order_relaxed) == s.seq_last && s.seq_pid == g.pid;
  uint64_t n = intact ? (s.seq_block < kMaxSeqBlock ? s.seq_block * 2 : kMaxSeqBlock) : 1;
  uint64_t first = next.fetch_add(n, std::memory_order_relaxed) + 1;
  s.seq_block = n;
  s.seq_pid = g.pid;
  s.seq_next = first + 1;
  s.seq_last = first + n - 1;
  return first;
}

ATR_NO_INSTRUMENT inline void RecordOp(const HookScope& s, Op op, void* fn, void* site,
                                       uint64_t sp) {
  ThreadRegion* r = tls.region;
  spool::EventRecord e;
  e.h = {spool::RecordType::kEvent, static_cast<uint8_t>(op), sizeof(spool::EventRecord)};
  e.sp_depth = Depth(r, sp);
  e.seq = s.recording() ? BlockSeq() : NextSeq();
  e.tsc = ReadTsc();
  e.addr = reinterpret_cast<uintptr_t>(fn);
  e.size = 0;
  e.arg = reinterpret_cast<uintptr_t>(site);
  e.stack = 0;
  if (ATR_LIKELY(s.recording())) {
    AppendEvent(s, e);
  } else {
    AppendSide(r, &e, sizeof(e));  // a signal handler interrupted a hook
  }
}


}  // namespace

uint32_t CaptureShadowStack(uint64_t* pcs, uint32_t max, const ThreadRegion* r) {
  uint32_t n = 0;
  if (max == 0) return 0;
  ForeignFrame caller;
  if (InnermostForeignFrame(r, &caller)) pcs[n++] = caller.ra;
  const ShadowTls& s = t_shadow;
  if (s.owner != r || s.frames == nullptr) return n;
  uint32_t top = s.depth < kShadowFrames ? s.depth : kShadowFrames;
  for (uint32_t i = top; i > 0 && n < max; --i) pcs[n++] = s.frames[i - 1].call_site;
  return n;
}

}  // namespace atr::preload

using atr::Op;
using atr::preload::g;
using atr::preload::HookScope;
using atr::preload::ShadowTls;

ATR_EXPORT ATR_NO_INSTRUMENT void __cyg_profile_func_enter(void* fn, void* site) {
  if (ATR_LIKELY(!g.stack_ops)) return;
  HookScope s;
  if (!s.active()) return;
  // Our caller's SP just before it called us: above our return address.
  uint64_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16;
  if (ShadowTls* sh = atr::preload::Shadow()) {
    uint32_t d = sh->depth;
    while (d > 0 && d <= atr::preload::kShadowFrames && sh->frames[d - 1].sp <= sp) --d;
    if (d < atr::preload::kShadowFrames) sh->frames[d] = {reinterpret_cast<uintptr_t>(site), sp};
    sh->depth = d + 1;
  }
  atr::preload::RecordOp(s, Op::kFuncEnter, fn, site, sp);
}

ATR_EXPORT ATR_NO_INSTRUMENT void __cyg_profile_func_exit(void* fn, void* site) {
  if (ATR_LIKELY(!g.stack_ops)) return;
  HookScope s;
  if (!s.active()) return;
  uint64_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16;
  atr::preload::RecordOp(s, Op::kFuncExit, fn, site, sp);
  if (ShadowTls* sh = atr::preload::Shadow()) {
    uint32_t d = sh->depth;
    while (d > 0 && d <= atr::preload::kShadowFrames && sh->frames[d - 1].sp < sp) --d;
    if (d > 0) --d;
    sh->depth = d;
  }
}
