// Call-stack capture for events: the table-driven walk (default;
// recorder/preload/unwind/, libunwind for the events it cannot describe),
// libunwind's unw_backtrace, a frame-pointer walk, or nothing; then the frames of
// this library (and of the unwinder itself) are dropped from the top.
#include <link.h>
#include <string.h>

#include <libunwind.h>

#include "recorder/preload/preload.h"
#include "recorder/preload/unwind/loaded_modules.h"
#include "recorder/preload/unwind/table_unwinder.h"
#include "recorder/preload/unwind/unwind_report.h"

namespace atr::preload {
namespace {

constexpr uint32_t kCaptureSlack = 16;  // must match thread_buffer.cc

inline bool InSelf(uint64_t pc) { return pc - g.self_lo < g.self_hi - g.self_lo; }

// Frame-pointer chain, bounded by the thread's stack: a frame without a
// frame pointer ends the walk (or yields garbage pcs that stay in bounds).
ATR_NOINLINE uint32_t WalkFramePointers(uint64_t* pcs, uint32_t cap, const ThreadRegion* r) {
  uintptr_t lo = r->stack_lo, hi = r->stack_hi;
  if (hi == 0) return 0;
  auto fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uint32_t n = 0;
  while (n < cap && fp >= lo && fp + 16 <= hi && (fp & 7) == 0) {
    const auto* frame = reinterpret_cast<const uintptr_t*>(fp);
    uintptr_t next = frame[0];
    uintptr_t ret = frame[1];
    if (ret < 4096) break;
    pcs[n++] = ret;
    if (next <= fp) break;
    fp = next;
  }
  return n;
}

uint32_t Libunwind(uint64_t* pcs, uint32_t cap) {
  int got = unw_backtrace(reinterpret_cast<void**>(pcs), static_cast<int>(cap));
  return got > 0 ? static_cast<uint32_t>(got) : 0;
}

// The table walk from here; libunwind for an event it cannot describe.
ATR_NOINLINE uint32_t WalkTables(uint64_t* pcs, uint32_t cap, const ThreadRegion* r,
                                 bool* exact) {
  uint32_t n;
  unwind::WalkStatus st =
      unwind::Walk(unwind::CurrentRegisters(), r->stack_lo, r->stack_hi, pcs, cap, &n);
  *exact = st == unwind::WalkStatus::kOk;
  if (ATR_LIKELY(*exact)) {
    if (ATR_UNLIKELY(g_unwind_report.stats)) CountTableEvent();
    return n;
  }
  CountFallback(st);
  return Libunwind(pcs, cap);
}

uint32_t DropOwnFrames(uint64_t* pcs, uint32_t n, uint32_t max) {
  // Skip the unwinder's own frames, then ours (the hook and its helpers).
  // Only leading frames: a pthread_create trampoline of ours sits at the
  // bottom of every thread's stack and must stay.
  uint32_t limit = n < kCaptureSlack ? n : kCaptureSlack;
  uint32_t skip = 0;
  while (skip < limit && !InSelf(pcs[skip])) ++skip;
  if (skip == limit) skip = 0;
  while (skip < n && InSelf(pcs[skip])) ++skip;
  uint32_t depth = n - skip;
  if (depth > max) depth = max;
  if (skip != 0 && depth != 0) memmove(pcs, pcs + skip, depth * sizeof(uint64_t));
  return depth;
}

ATR_NOINLINE void CrossCheck(const uint64_t* pcs, uint32_t depth, uint32_t max) {
  uint32_t cap = max + kCaptureSlack;
  auto* ref = static_cast<uint64_t*>(alloca(cap * sizeof(uint64_t)));
  uint32_t ref_depth = DropOwnFrames(ref, Libunwind(ref, cap), max);
  CompareStacks(pcs, depth, ref, ref_depth);
}

}  // namespace

void InitUnwinderForThread() {
  // libunwind's first unw_backtrace on a thread sets up its per-thread cache
  // (pthread key, mmap): do it now, with hooks forwarding. The table
  // unwinder falls back to it.
  if (g.unwinder == Unwinder::kLibunwind || g.unwinder == Unwinder::kTable) {
    void* tmp[4];
    unw_backtrace(tmp, 4);
  }
  if (g.unwinder == Unwinder::kTable) ReadUnwindReportFlags();
}

void NoteModuleLoaded(const dl_phdr_info* info, uint64_t lo, uint64_t hi) {
  unwind::AddModule(lo, hi, unwind::RangeOf(*info).eh_frame_hdr);
}

void NoteModuleUnloaded(uint64_t lo, uint64_t hi) { unwind::RemoveModule(lo, hi); }

uint32_t CaptureStack(uint64_t* pcs, uint32_t max, const ThreadRegion* r) {
  if (g.stack_ops) return CaptureShadowStack(pcs, max, r);
  uint32_t cap = max + kCaptureSlack;
  if (g.unwinder == Unwinder::kTable) {
    bool exact;
    uint32_t depth = DropOwnFrames(pcs, WalkTables(pcs, cap, r, &exact), max);
    if (ATR_UNLIKELY(g_unwind_report.crosscheck) && exact) CrossCheck(pcs, depth, max);
    return depth;
  }
  uint32_t n;
  if (g.unwinder == Unwinder::kLibunwind) {
    n = Libunwind(pcs, cap);
  } else if (g.unwinder == Unwinder::kFramePointer) {
    n = WalkFramePointers(pcs, cap, r);
  } else {
    return 0;
  }
  return DropOwnFrames(pcs, n, max);
}

uint64_t HashStack(const uint64_t* pcs, uint32_t depth) {
  // Position-dependent rotations and independent adds keep the multiply out
  // of the per-frame dependency chain; one full mix at the end.
  uint64_t h = 0x9E3779B97F4A7C15ull ^ depth;
  for (uint32_t i = 0; i < depth; ++i) {
    uint64_t x = pcs[i] * 0xBF58476D1CE4E5B9ull;
    h += (x << (i & 31)) | (x >> ((64 - (i & 31)) & 63));
  }
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  return h == 0 ? 1 : h;
}

}  // namespace atr::preload
