// The plain walk (see table_unwinder.h); rules come from rule_cache.h, one
// frame at a time from walk_step.h.
#include "recorder/preload/unwind/table_unwinder.h"

#include "recorder/preload/unwind/module_registry.h"
#include "recorder/preload/unwind/rule_cache.h"
#include "recorder/preload/unwind/walk_step.h"

namespace atr::unwind {

WalkStatus Walk(const Registers& start, uint64_t stack_lo, uint64_t stack_hi, uint64_t* pcs,
                uint32_t cap, uint32_t* depth) {
  *depth = 0;
  if (cap == 0) return WalkStatus::kOk;
  if (start.sp - stack_lo >= stack_hi - stack_lo) return WalkStatus::kOutsideStack;
  uint32_t n = 0;
  pcs[n++] = start.pc;
  FrameRegs f{FirstKey(start), start.sp, start.rbp};
  while (n < cap) {
    StepInfo info;
    StepEnd end = StepToCaller(&f, stack_hi, &info);
    if (end == StepEnd::kEndOfStack) break;
    if (end == StepEnd::kFallback) return info.why;
    if (IsOutermost(f.key)) break;
    pcs[n++] = f.key;
  }
  *depth = n;
  return WalkStatus::kOk;
}

void AddModule(uint64_t lo, uint64_t hi, const uint8_t* eh_frame_hdr) {
  // A new module can only turn "no module" answers into rules.
  if (RegisterModule(lo, hi, eh_frame_hdr)) rules::Clear();
}

void RemoveModule(uint64_t lo, uint64_t hi) {
  if (UnregisterModule(lo, hi)) rules::Clear();
}

}  // namespace atr::unwind
