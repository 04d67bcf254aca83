// One frame of the table walk (internal to unwind/): from the registers at
// a frame to its caller's, by the cached rule of the frame's key. Both the
// plain walk (table_unwinder.cc) and the remembering one (walk_memo.cc)
// step with it, so they cannot disagree about a frame.
//
// Reads exactly two kinds of words, both inside [sp, stack_hi): the return
// address slot at CFA-8 and, when the rule says so, the slot the caller's
// rbp was saved in. The result depends only on the frame's registers, the
// rule (fixed while the rule cache's epoch stays) and those words.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_WALK_STEP_H_
#define ATR_RECORDER_PRELOAD_UNWIND_WALK_STEP_H_

#include <cstdint>

#include "recorder/preload/unwind/rule_cache.h"
#include "recorder/preload/unwind/table_unwinder.h"

namespace atr::unwind {

// The registers at a frame. key: the frame's return address (its rule is
// that of key-1), or pc+1 for the walk's first, exact pc.
struct FrameRegs {
  uint64_t key;
  uint64_t sp;
  uint64_t rbp;
};

enum class StepEnd : uint32_t {
  kCaller,      // *f is now the caller's frame (key < 0x4000: outermost)
  kEndOfStack,  // the rule says this is the outermost frame; *f unchanged
  kFallback,    // not describable here; *why says why; *f unchanged
};

struct StepInfo {
  uint64_t rbp_slot;  // where the caller's rbp was read, 0 if unchanged
  bool cfa_from_rbp;  // the CFA was computed from this frame's rbp
  WalkStatus why;     // for kFallback
};

__attribute__((always_inline)) inline StepEnd StepToCaller(FrameRegs* f, uint64_t stack_hi,
                                                           StepInfo* info) {
  uint64_t w = rules::RuleFor(f->key);
  uint32_t kind = rules::KindOf(w);
  if (kind == FrameRule::kEndOfStack) return StepEnd::kEndOfStack;
  if (kind != FrameRule::kStandard) {
    info->why = rules::FallbackOf(w);
    return StepEnd::kFallback;
  }
  info->cfa_from_rbp = rules::CfaFromRbp(w);
  uint64_t base = info->cfa_from_rbp ? f->rbp : f->sp;
  uint64_t cfa = base + (w & rules::kCfaOffsetMask);
  // The caller's frame lies above ours (at least the return address) and
  // inside the stack: every read is between the current sp and stack_hi,
  // memory that is mapped, and every step makes progress.
  if (cfa < f->sp + 8 || cfa > stack_hi) {
    info->why = WalkStatus::kOutsideStack;
    return StepEnd::kFallback;
  }
  uint64_t ra = *reinterpret_cast<const uint64_t*>(cfa - 8);
  int64_t rbp_offset = rules::RbpOffsetOf(w);
  info->rbp_slot = 0;
  if (rbp_offset != 0) {
    uint64_t at = cfa + static_cast<uint64_t>(rbp_offset);
    if (at < f->sp || at + 8 > cfa) {  // in this frame
      info->why = WalkStatus::kOutsideStack;
      return StepEnd::kFallback;
    }
    info->rbp_slot = at;
    f->rbp = *reinterpret_cast<const uint64_t*>(at);
  }
  f->sp = cfa;
  f->key = ra;
  return StepEnd::kCaller;
}

// The key of a walk's first frame: an exact pc's rule is its own, a return
// address's that of the call before it.
inline uint64_t FirstKey(const Registers& start) {
  return start.return_address ? start.pc : start.pc + 1;
}

// libunwind's end-of-stack test on a return address.
inline bool IsOutermost(uint64_t ra) { return ra < 0x4000; }

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_WALK_STEP_H_
