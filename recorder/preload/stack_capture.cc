// Call-stack capture for events: the table-driven walk (default;
// recorder/preload/unwind/, remembering the thread's last walk, libunwind for
// the events it cannot describe), libunwind's unw_backtrace, a frame-pointer
// walk, or nothing; then the frames of this library (and of the unwinder
// itself) are dropped from the top, and the stack's id is computed (from the
// walk memo's partial sums for the frames a table walk re-used).
#include <link.h>
#include <string.h>

#include <libunwind.h>

#include "recorder/preload/preload.h"
#include "recorder/preload/unwind/loaded_modules.h"
#include "recorder/preload/unwind/stack_hash.h"
#include "recorder/preload/unwind/table_unwinder.h"
#include "recorder/preload/unwind/unwind_report.h"
#include "recorder/preload/unwind/walk_memo.h"

namespace atr::preload {
namespace {

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

// The table walk from the code that called the hook (our own frames are
// skipped through their frame pointers, not walked), remembered in the
// thread's memo; libunwind for an event it cannot describe (with our frames
// on top: *exact false). *remembered: the memo holds this walk.
ATR_NOINLINE uint32_t WalkTables(uint64_t* pcs, uint32_t max, ThreadRegion* r, bool* exact,
                                 bool* remembered) {
  uint32_t n;
  unwind::WalkMemo& memo = r->walk_memo;
  uint64_t copied = memo.frames_copied, stepped = memo.frames_stepped;
  ForeignFrame caller;
  unwind::WalkStatus st = unwind::WalkStatus::kOutsideStack;
  if (ATR_LIKELY(InnermostForeignFrame(r, &caller))) {
    unwind::Registers start;
    start.pc = caller.ra;
    start.sp = caller.sp;
    start.rbp = caller.rbp;
    start.return_address = true;
    st = unwind::WalkRemembered(start, r->stack_lo, r->stack_hi, pcs, max, &n, &memo);
  }
  *exact = st == unwind::WalkStatus::kOk;
  if (ATR_LIKELY(*exact)) {
    *remembered = n != 0 && memo.count == n;
    if (ATR_UNLIKELY(g_unwind_report.stats)) {
      CountTableEvent(memo.frames_copied - copied, memo.frames_stepped - stepped);
    }
    return n;
  }
  *remembered = false;
  CountFallback(st);
  return Libunwind(pcs, max + kCaptureSlack);
}

// How many leading entries are the unwinder's frames and then ours (the
// hook and its helpers). Only leading frames: a pthread_create trampoline
// of ours sits at the bottom of every thread's stack and must stay.
uint32_t OwnFrames(const uint64_t* pcs, uint32_t n) {
  uint32_t limit = n < kCaptureSlack ? n : kCaptureSlack;
  uint32_t skip = 0;
  while (skip < limit && !InSelf(pcs[skip])) ++skip;
  if (skip == limit) skip = 0;
  while (skip < n && InSelf(pcs[skip])) ++skip;
  return skip;
}

// Drops our leading frames and any beyond `max`; returns the depth.
uint32_t DropOwnFrames(uint64_t* pcs, uint32_t n, uint32_t max) {
  uint32_t skip = OwnFrames(pcs, n);
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

uint32_t CaptureStack(uint64_t* pcs, uint32_t max, ThreadRegion* r, uint64_t* hash,
                      uint32_t* first) {
  uint32_t depth;
  *first = 0;
  if (g.stack_ops) {
    depth = CaptureShadowStack(pcs, max, r);
  } else if (g.unwinder == Unwinder::kTable) {
    bool exact, remembered;
    uint32_t n = WalkTables(pcs, max, r, &exact, &remembered);
    // A table walk starts below our frames; libunwind's has them on top
    // (moved out only if the stack is sent).
    uint32_t skip = exact ? 0 : OwnFrames(pcs, n);
    depth = n - skip < max ? n - skip : max;
    *first = skip;
    if (depth == 0) return 0;
    const uint64_t* stack = pcs + skip;
    if (ATR_UNLIKELY(g_unwind_report.crosscheck) && exact) CrossCheck(stack, depth, max);
    // The memo's sums cover the walk to its end (or its cap, max).
    if (remembered) {
      *hash = unwind::FinishStackHash(unwind::RememberedSuffixSum(&r->walk_memo, 0), depth);
      if (ATR_UNLIKELY(g_unwind_report.crosscheck)) {
        CompareStackIds(*hash, unwind::HashStack(stack, depth));
      }
    } else {
      *hash = unwind::HashStack(stack, depth);
    }
    return depth;
  } else if (g.unwinder == Unwinder::kLibunwind) {
    depth = DropOwnFrames(pcs, Libunwind(pcs, max + kCaptureSlack), max);
  } else if (g.unwinder == Unwinder::kFramePointer) {
    depth = DropOwnFrames(pcs, WalkFramePointers(pcs, max + kCaptureSlack, r), max);
  } else {
    return 0;
  }
  if (depth != 0) *hash = unwind::HashStack(pcs, depth);
  return depth;
}

}  // namespace atr::preload
