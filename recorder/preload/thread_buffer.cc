// Per-thread chunk buffers: appending records, flushing them as chunks,
// the side buffer for signal handlers, and the best-effort flush of every
// thread's buffer on crash, exec and exit.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <alloca.h>

#include "recorder/preload/preload.h"
#include "recorder/spool_compact.h"

namespace atr::preload {
namespace {

constexpr size_t kRegionBytes = (sizeof(ThreadRegion) + 4095) & ~size_t{4095};

// Counts the events (either form) in [p, p + bytes): what a failed write
// loses.
uint64_t CountEvents(const uint8_t* p, uint32_t bytes) {
  uint64_t n = 0;
  uint32_t off = 0;
  while (off + sizeof(spool::RecordHeader) <= bytes) {
    const auto* h = reinterpret_cast<const spool::RecordHeader*>(p + off);
    if (h->bytes == 0) break;
    if (h->type == spool::RecordType::kEvent ||
        static_cast<uint8_t>(h->type) == spool::kCompactEventType) {
      ++n;
    }
    off += h->bytes;
  }
  return n;
}

// One write(2)/writev(2) of a whole chunk; O_APPEND keeps it contiguous.
bool WriteAll(const iovec* iov, int n, size_t bytes) {
  for (;;) {
    ssize_t w = writev(g.spool_fd, iov, n);
    if (w == static_cast<ssize_t>(bytes)) return true;
    if (w < 0 && errno == EINTR) continue;
    // A short write leaves a truncated chunk the reader reports; never
    // append the rest, another chunk may already follow it.
    return false;
  }
}

// Writes buf[from, to) of `r` as one chunk. A chunk from the middle of buf
// (after another thread's flush) opens with the DeltaBase its compact
// records continue from, recomputed from the records before it, which
// stay in buf untouched until the owner empties it.
// REQUIRES: the caller holds r->flush_lock.
void WriteRange(ThreadRegion* r, uint32_t from, uint32_t to) {
  if (to <= from) return;
  spool::DeltaBaseRecord base;
  base.h = {static_cast<spool::RecordType>(spool::kDeltaBaseType), 0, sizeof(base)};
  base.reserved = 0;
  base.base = {};
  uint32_t base_bytes = 0;
  if (from > kHeaderReserve) {
    spool::EventRecord scratch;
    for (uint32_t off = kHeaderReserve; off < from;) {
      spool::ApplyRecord(base.base, r->buf + off, &scratch);
      off += reinterpret_cast<const spool::RecordHeader*>(r->buf + off)->bytes;
    }
    base_bytes = sizeof(base);
  }
  spool::ChunkHeader h = {spool::ChunkHeader::kMagic, to - from + base_bytes, g.pid, r->tid};
  iovec iov[3] = {{&h, sizeof(h)}, {&base, base_bytes}, {r->buf + from, to - from}};
  int saved = errno;
  if (!WriteAll(iov, 3, sizeof(h) + base_bytes + (to - from))) {
    CountLost(CountEvents(r->buf + from, to - from));
  }
  errno = saved;
  r->flushed.store(to, std::memory_order_release);
}

void LockForFlush(ThreadRegion* r, uint32_t me) {
  for (;;) {
    uint32_t expected = 0;
    if (r->flush_lock.compare_exchange_weak(expected, me, std::memory_order_acquire)) return;
    sched_yield();  // a crash/exec/exit flusher holds it for one write
  }
}

// The owner's flush: writes everything and empties the buffer.
void FlushRegion(ThreadRegion* r) {
  SyncModules(/*force_all=*/false);
  LockForFlush(r, r->tid);
  WriteRange(r, r->flushed.load(std::memory_order_relaxed),
             r->used.load(std::memory_order_relaxed));
  r->used.store(kHeaderReserve, std::memory_order_relaxed);
  r->flushed.store(kHeaderReserve, std::memory_order_relaxed);
  r->delta = {};
  r->flush_lock.store(0, std::memory_order_release);
}

// The offset in buf where a record of up to `bytes` goes (flushing first if
// it would not fit).
inline uint32_t Reserve(ThreadRegion* r, uint32_t bytes, uint64_t tsc) {
  uint32_t u = r->used.load(std::memory_order_relaxed);
  if (ATR_UNLIKELY(u + bytes > kBufferBytes)) {
    FlushRegion(r);
    u = r->used.load(std::memory_order_relaxed);
  }
  if (u == r->flushed.load(std::memory_order_relaxed)) r->first_tsc = tsc;
  return u;
}

inline void Commit(ThreadRegion* r, uint32_t end, uint64_t tsc) {
  r->used.store(end, std::memory_order_release);
  // Signed age: a release stamps its time before its stack record opens the
  // buffer, so first_tsc can be later than tsc. flush_ticks 0 (write-through
  // after the flush of every buffer at exec/exit) flushes every record, even
  // one that opened an empty buffer in the same tick.
  int64_t age = static_cast<int64_t>(tsc - r->first_tsc);
  if (ATR_UNLIKELY(r->flush_ticks == 0 || age > static_cast<int64_t>(r->flush_ticks))) {
    FlushRegion(r);
  }
}

inline void AppendRaw(ThreadRegion* r, const void* rec, uint32_t bytes, uint64_t tsc) {
  uint32_t u = Reserve(r, bytes, tsc);
  memcpy(r->buf + u, rec, bytes);
  const auto* h = static_cast<const spool::RecordHeader*>(rec);
  if (h->type == spool::RecordType::kEvent) {
    spool::Advance(r->delta, *static_cast<const spool::EventRecord*>(rec));
  }
  Commit(r, u + bytes, tsc);
}

// Encodes straight into buf: compact when it fits, else the full record.
// From the fields as scalars and always inlined into the hook: an
// EventRecord (or EventStamp) built only to be encoded was stored and read
// back as one wider word (a store-forwarding stall per event; see
// EncodeCompactFields).
__attribute__((always_inline)) inline void AppendEventFields(ThreadRegion* r, uint8_t op,
                                                             uint32_t sp_depth, uint64_t seq,
                                                             uint64_t tsc, uint64_t addr,
                                                             uint64_t size, uint64_t arg,
                                                             uint64_t stack) {
  uint32_t u = Reserve(r, sizeof(spool::EventRecord), tsc);
  static_assert(spool::kMaxCompactBytes <= sizeof(spool::EventRecord));
  uint32_t n = spool::EncodeCompactFields(r->delta, op, sp_depth, seq, tsc, addr, size, arg, stack,
                                          r->buf + u);
  if (ATR_UNLIKELY(n == 0)) {
    spool::EventRecord e = spool::MakeEventRecord(op, sp_depth, seq, tsc, addr, size, arg, stack);
    memcpy(r->buf + u, &e, sizeof(e));
    spool::Advance(r->delta, e);
    n = sizeof(e);
  }
  Commit(r, u + n, tsc);
}

inline void AppendEventRaw(ThreadRegion* r, const spool::EventRecord& e) {
  AppendEventFields(r, e.h.op, e.sp_depth, e.seq, e.tsc, e.addr, e.size, e.arg, e.stack);
}

void InitRegion(ThreadRegion* r, bool reused) {
  r->flush_lock.store(0, std::memory_order_relaxed);
  r->used.store(kHeaderReserve, std::memory_order_relaxed);
  r->flushed.store(kHeaderReserve, std::memory_order_relaxed);
  r->side_used.store(0, std::memory_order_relaxed);
  r->side_lost.store(0, std::memory_order_relaxed);
  r->first_tsc = 0;
  r->delta = {};
  if (reused) memset(r->stack_cache, 0, sizeof(r->stack_cache));
  unwind::InitWalkMemo(&r->walk_memo, r->memo_frames[0], r->memo_frames[1], kMemoFrames);
}

// Writes the complete records of the own side buffer (crash path).
void WriteSide(ThreadRegion* r) {
  uint32_t used = r->side_used.load(std::memory_order_acquire);
  uint32_t end = used < kSideBytes ? used : kSideBytes;
  uint32_t off = 0;
  while (off + sizeof(spool::RecordHeader) <= end) {
    const auto* h = reinterpret_cast<const spool::RecordHeader*>(r->side + off);
    if (h->bytes == 0 || off + h->bytes > end) break;
    off += h->bytes;
  }
  if (off == 0) return;
  alignas(8) uint8_t chunk[kHeaderReserve + kSideBytes];
  memcpy(chunk + kHeaderReserve, r->side, off);
  WriteDirectChunk(chunk + kHeaderReserve, off, r->tid);
  r->side_used.store(0, std::memory_order_relaxed);
}

}  // namespace

// ---------------------------------------------------------------- HookScope

HookScope::Mode HookScope::EnterSlow() {
  ThreadLocal& t = tls;
  if (t.internal != 0) return kForward;
  if (*g.live != kLiveWord) {
    int st = g.state.load(std::memory_order_acquire);
    if (st == static_cast<int>(GlobalState::kUninit) && t.depth == 0) {
      EnsureInitialized();
      st = g.state.load(std::memory_order_acquire);
    }
    if (st == static_cast<int>(GlobalState::kInitializing)) {
      CountLost(1);  // another thread is initializing; cannot record yet
      return kForward;
    }
    if (st != static_cast<int>(GlobalState::kRecording)) return kForward;
    if (*g.live != kLiveWord) {
      // A fork this library did not see (or the fork hook's child).
      if (t.depth != 0) {
        CountLost(1);
        return kForward;
      }
      OnForkedChild();
      if (*g.live != kLiveWord) return kForward;
    }
  }
  if (t.depth != 0) {
    if (t.region != nullptr) return kNested;
    CountLost(1);
    return kForward;
  }
  if (t.region == nullptr) {
    ThreadRegion* r = InitThisThread();
    if (r == nullptr) {
      CountLost(1);
      return kForward;
    }
    t.region = r;
  }
  t.depth = 1;
  mode_ = kRecord;
  if (t.need_thread_record) {
    t.need_thread_record = 0;
    EmitThreadRecord(*this);
  }
  return kRecord;
}

uint64_t HookScope::CaptureAndIntern() const {
  ThreadRegion* r = tls.region;
  uint32_t max = g.max_depth;
  auto* rec = static_cast<uint64_t*>(
      alloca(sizeof(spool::StackRecord) + sizeof(uint64_t) * (max + kCaptureSlack)));
  uint64_t* pcs = rec + sizeof(spool::StackRecord) / sizeof(uint64_t);
  uint64_t hash;
  uint32_t first;
  uint32_t depth = CaptureStack(pcs, max, r, &hash, &first);
  if (depth == 0) return 0;
  uint64_t& slot = r->stack_cache[hash & (kStackCacheEntries - 1)];
  if (slot == hash) return hash;
  slot = hash;
  if (first != 0) memmove(pcs, pcs + first, depth * sizeof(uint64_t));
  auto* sr = reinterpret_cast<spool::StackRecord*>(rec);
  uint32_t bytes = sizeof(spool::StackRecord) + 8 * depth;
  sr->h = {spool::RecordType::kStack, 0, static_cast<uint16_t>(bytes)};
  sr->depth = depth;
  sr->hash = hash;
  AppendRaw(r, rec, bytes, ReadTsc());
  return hash;
}

void HookScope::EmitAt(Op op, uint64_t seq, uint64_t tsc, uint64_t addr, uint64_t size,
                       uint64_t arg, uint64_t stack) const {
  if (mode_ == kForward) return;
  ThreadRegion* r = tls.region;
  auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uint64_t d = sp - r->stack_lo < r->stack_hi - r->stack_lo ? r->stack_hi - sp : 0;
  uint32_t sp_depth = d > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(d);
  if (ATR_LIKELY(mode_ == kRecord)) {
    AppendEventFields(r, static_cast<uint8_t>(op), sp_depth, seq, tsc, addr, size, arg, stack);
  } else {
    spool::EventRecord e = spool::MakeEventRecord(static_cast<uint8_t>(op), sp_depth, seq, tsc,
                                                  addr, size, arg, stack);
    AppendSide(r, &e, sizeof(e));
  }
}

// ---------------------------------------------------------------- buffers

ThreadRegion* AcquireRegion() {
  // Regions of a fork's dead parent threads first, then regions of threads
  // the kernel says are gone (a late event may still reach a retired region
  // while its thread is exiting).
  for (ThreadRegion* r = g.regions.load(std::memory_order_acquire); r; r = r->next) {
    uint32_t s = static_cast<uint32_t>(RegionState::kFree);
    if (r->state.load(std::memory_order_relaxed) == s &&
        r->state.compare_exchange_strong(s, static_cast<uint32_t>(RegionState::kActive))) {
      InitRegion(r, /*reused=*/true);
      return r;
    }
  }
  int checked = 0;
  for (ThreadRegion* r = g.regions.load(std::memory_order_acquire); r && checked < 16; r = r->next) {
    if (r->state.load(std::memory_order_acquire) != static_cast<uint32_t>(RegionState::kRetired)) {
      continue;
    }
    ++checked;
    if (syscall(SYS_tgkill, g.pid, r->tid, 0) == 0 || errno != ESRCH) continue;
    uint32_t s = static_cast<uint32_t>(RegionState::kRetired);
    if (r->state.compare_exchange_strong(s, static_cast<uint32_t>(RegionState::kActive))) {
      LockForFlush(r, Gettid());
      WriteRange(r, r->flushed.load(), r->used.load());
      r->flush_lock.store(0, std::memory_order_release);
      InitRegion(r, /*reused=*/true);
      return r;
    }
  }
  auto* r = static_cast<ThreadRegion*>(MapAnon(kRegionBytes));
  if (r == nullptr) return nullptr;
  r->state.store(static_cast<uint32_t>(RegionState::kActive), std::memory_order_relaxed);
  InitRegion(r, /*reused=*/false);
  ThreadRegion* head = g.regions.load(std::memory_order_relaxed);
  do {
    r->next = head;
  } while (!g.regions.compare_exchange_weak(head, r, std::memory_order_release,
                                            std::memory_order_relaxed));
  return r;
}

void Append(const HookScope& scope, const void* rec, uint32_t bytes, uint64_t tsc) {
  if (!scope.recording()) return;
  AppendRaw(tls.region, rec, bytes, tsc);
}

void AppendEvent(const HookScope& scope, const spool::EventRecord& e) {
  if (!scope.recording()) return;
  AppendEventRaw(tls.region, e);
}

void AppendSide(ThreadRegion* r, const void* rec, uint32_t bytes) {
  uint32_t off = r->side_used.fetch_add(bytes, std::memory_order_relaxed);
  if (off + bytes > kSideBytes) {
    r->side_lost.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  memcpy(r->side + off, rec, bytes);
  std::atomic_signal_fence(std::memory_order_release);
}

void DrainSide(ThreadRegion* r) {
  // Signal handlers may add records while this runs; they complete before
  // control returns here, and side_used only grows until reset below.
  uint32_t off = 0;
  for (;;) {
    uint32_t used = r->side_used.load(std::memory_order_acquire);
    uint32_t end = used < kSideBytes ? used : kSideBytes;
    while (off + sizeof(spool::RecordHeader) <= end) {
      const auto* h = reinterpret_cast<const spool::RecordHeader*>(r->side + off);
      if (h->bytes == 0 || off + h->bytes > end) break;
      AppendRaw(r, h, h->bytes, ReadTsc());
      off += h->bytes;
    }
    if (r->side_used.compare_exchange_strong(used, 0)) break;
  }
  uint32_t lost = r->side_lost.exchange(0);
  if (lost != 0) {
    spool::LostRecord lr;
    lr.h = {spool::RecordType::kLost, 0, sizeof(lr)};
    lr.count = lost;
    AppendRaw(r, &lr, sizeof(lr), ReadTsc());
    CountLost(lost);
  }
}

void FlushOwn(const HookScope& scope) {
  if (!scope.recording()) return;
  ThreadRegion* r = tls.region;
  if (r->side_used.load(std::memory_order_relaxed) != 0 ||
      r->side_lost.load(std::memory_order_relaxed) != 0) {
    DrainSide(r);
  }
  FlushRegion(r);
}

bool WriteDirectChunk(uint8_t* records, uint32_t bytes, uint32_t tid) {
  auto* h = reinterpret_cast<spool::ChunkHeader*>(records - kHeaderReserve);
  h->magic = spool::ChunkHeader::kMagic;
  h->payload_bytes = bytes;
  h->pid = g.pid;
  h->tid = tid;
  int saved = errno;
  iovec iov = {h, bytes + kHeaderReserve};
  bool ok = WriteAll(&iov, 1, bytes + kHeaderReserve);
  if (!ok) CountLost(CountEvents(records, bytes));
  errno = saved;
  return ok;
}

void FlushAllRegions(bool from_signal) {
  if (!from_signal) SyncModules(/*force_all=*/false);
  ThreadRegion* own = tls.region;
  uint32_t me = own != nullptr ? own->tid : Gettid();
  for (ThreadRegion* r = g.regions.load(std::memory_order_acquire); r; r = r->next) {
    if (r->state.load(std::memory_order_acquire) == static_cast<uint32_t>(RegionState::kFree)) {
      continue;
    }
    uint32_t expected = 0;
    bool locked = r->flush_lock.compare_exchange_strong(expected, me, std::memory_order_acquire);
    // A crash inside this thread's own flush: the interrupted write never
    // resumes (the process dies after the handler), so write it here.
    if (!locked && !(from_signal && r == own && expected == me)) continue;
    WriteRange(r, r->flushed.load(std::memory_order_relaxed),
               r->used.load(std::memory_order_acquire));
    if (locked) r->flush_lock.store(0, std::memory_order_release);
  }
  if (from_signal && own != nullptr) WriteSide(own);
}

void EmitThreadRecord(const HookScope& scope, bool exiting) {
  if (!scope.recording()) return;
  ThreadRegion* r = tls.region;
  spool::ThreadRecord tr;
  memset(&tr, 0, sizeof(tr));
  tr.h = {spool::RecordType::kThread, 0, sizeof(tr)};
  tr.creator_tid = r->creator_tid;
  tr.stack_lo = r->stack_lo;
  tr.stack_hi = r->stack_hi;
  tr.flags = exiting ? uint32_t{spool::ThreadRecord::kExiting} : 0u;
  prctl(PR_GET_NAME, tr.name, 0, 0, 0);
  tr.name[15] = '\0';
  Append(scope, &tr, sizeof(tr), ReadTsc());
}

void ResetRegionsAfterFork(ThreadRegion* own) {
  for (ThreadRegion* r = g.regions.load(std::memory_order_acquire); r; r = r->next) {
    if (r == own) {
      InitRegion(r, /*reused=*/true);  // the parent writes what was buffered
      continue;
    }
    r->state.store(static_cast<uint32_t>(RegionState::kFree), std::memory_order_relaxed);
    InitRegion(r, /*reused=*/false);
  }
}

void SetWriteThroughAll() {
  g.flush_ticks = 0;
  for (ThreadRegion* r = g.regions.load(std::memory_order_acquire); r; r = r->next) {
    r->flush_ticks = 0;
  }
}

}  // namespace atr::preload
