// A table walk that remembers the previous walk on the same thread and
// re-uses its outer frames once it can prove they are unchanged.
//
// Why it is sound: a walk from a frame on is a function of that frame's
// registers (key, sp, and rbp when a later rule reads it), of the cached
// rules (fixed while the rule cache's epoch stays, rule_cache.h) and of
// the words it reads (return address slots, saved rbp slots;
// walk_step.h). The memo keeps, per frame of the last walk, the registers
// and where those words were. When a new walk reaches a frame whose
// registers equal a remembered frame's, it re-reads only the remembered
// words below it (one load and compare per frame, no rule lookups, no
// chain of dependent loads) and copies the frames while they match; at the
// first word that differs it steps that frame normally and goes on.
// The result is always exactly what Walk() returns for the same state.
//
// Memory: two buffers of `capacity` MemoFrames (the last walk, and scratch
// for the frames of the next one above the point where it joins the last),
// owned by the caller; walks never allocate. The frames a walk re-uses stay
// where they are: the per-frame work is the check alone. One memo per
// thread: a memo is not shared, and a walk must not run on it from a
// signal handler that interrupted another walk on it.
//
//   WalkMemo memo;  InitWalkMemo(&memo, frames, scratch, kFrames);
//   WalkStatus st = WalkRemembered(CurrentRegisters(), lo, hi, pcs, cap, &n, &memo);
//   if (st == WalkStatus::kOk && memo.count == n)
//     id = FinishStackHash(RememberedSuffixSum(&memo, skip), n - skip);
#ifndef ATR_RECORDER_PRELOAD_UNWIND_WALK_MEMO_H_
#define ATR_RECORDER_PRELOAD_UNWIND_WALK_MEMO_H_

#include <cstdint>

#include "recorder/preload/unwind/table_unwinder.h"

namespace atr::unwind {

// One frame of a remembered walk: its registers, then what the step from
// it to its caller read (the return address slot is the caller's sp - 8).
struct MemoFrame {
  uint64_t key;         // return address (pc+1 for an exact first pc)
  uint64_t sp;
  uint64_t rbp;         // exact where kRbpUsed, else whatever it held
  uint64_t rbp_slot;    // the step read the caller's rbp here; 0: unchanged
  uint64_t check_slot;  // rbp_slot if the caller's rbp matters, else 0
  uint64_t hash_sum;    // SuffixSum (stack_hash.h) from here to the walk's end
  uint32_t flags;       // MemoFrame::k*
  uint32_t unused;
  static constexpr uint32_t kCfaFromRbp = 1;  // this step's CFA came from rbp
  static constexpr uint32_t kRbpUsed = 2;     // the rest of the walk reads rbp
};

// frames[] is stored OUTERMOST first (frames[count-1] is the walk's first
// frame), so frames a walk shares with the previous one keep their places
// whatever the depth above them.
struct WalkMemo {
  MemoFrame* frames;     // the last walk, outermost first
  MemoFrame* scratch;    // the next walk's frames above its join, innermost first
  uint32_t capacity;     // frames per buffer
  uint32_t count;        // frames of the last kOk walk; 0: nothing remembered
  uint32_t hashed;       // frames[b].hash_sum is valid for b < this
  uint32_t end;          // how the last walk ended (walk_memo.cc)
  bool first_exact;      // its first pc was exact (its key is pc + 1)
  uint64_t end_slot;     // its last return address slot, if that ended it
  uint64_t epoch;        // the rule cache's epoch during the last walk
  uint64_t stack_lo, stack_hi;
  uint64_t frames_copied;   // frames taken from a previous walk, ever
  uint64_t frames_stepped;  // frames stepped by their rule, ever
};

// Sets up an empty memo over two caller-owned buffers.
void InitWalkMemo(WalkMemo* memo, MemoFrame* frames, MemoFrame* scratch, uint32_t capacity);

// Walk() (table_unwinder.h), same contract and same results, remembering
// the walk in `memo` when it returns kOk (other results leave the memo as
// it was). A cap above the memo's capacity walks without it and empties it.
WalkStatus WalkRemembered(const Registers& start, uint64_t stack_lo, uint64_t stack_hi,
                          uint64_t* pcs, uint32_t cap, uint32_t* depth, WalkMemo* memo);

// SuffixSum(pcs, from, count) of the last kOk walk's pcs, reusing and
// completing the sums the memo holds. REQUIRES: from < memo->count.
uint64_t RememberedSuffixSum(WalkMemo* memo, uint32_t from);

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_WALK_MEMO_H_
