// The remembering walk (see walk_memo.h).
//
// Frame i of a walk (innermost first) holds the registers before step i;
// the step from frame i reads the return address at the caller's sp - 8
// and, if rbp_slot != 0, the caller's rbp there. The memo stores frame i of
// an n-frame walk at frames[n-1-i]. Its outermost frame says how the walk
// ended: that frame's rule said end of stack, or the return address its
// step read was below 0x4000 (at end_slot), or the walk hit its cap there
// without stepping.
//
// Matching a remembered frame needs equal key and sp, and equal rbp only
// if the rest of that walk used it (kRbpUsed: some later CFA came from rbp
// before rbp was reloaded from a slot). A frame's rbp is stored exactly
// where kRbpUsed is set; elsewhere it may be stale. So re-checking a step
// compares the return address word, and the saved rbp word only where the
// caller's rbp is used (check_slot). Frames re-used up to the old walk's
// end keep their flags and hash sums (same frames to the same end); every
// other frame goes through scratch with its exact registers, and its flags
// are recomputed.
#include "recorder/preload/unwind/walk_memo.h"

#include "recorder/preload/unwind/rule_cache.h"
#include "recorder/preload/unwind/stack_hash.h"
#include "recorder/preload/unwind/walk_step.h"

namespace atr::unwind {
namespace {

enum MemoEnd : uint32_t { kEndRule = 0, kEndSmallRa = 1, kEndCap = 2 };

inline uint64_t Load(uint64_t addr) { return *reinterpret_cast<const uint64_t*>(addr); }

inline bool SameFrame(const MemoFrame& o, const FrameRegs& f) {
  return o.sp == f.sp && o.key == f.key &&
         ((o.flags & MemoFrame::kRbpUsed) == 0 || o.rbp == f.rbp);
}

inline MemoFrame Fresh(const FrameRegs& f, uint64_t rbp_slot, uint32_t flags) {
  return MemoFrame{f.key, f.sp, f.rbp, rbp_slot, 0, 0, flags, 0};
}

// Moves scratch[0, fresh) to frames[n-1-j] (above what is already stored
// below them), outermost first, deriving each one's rbp use from its
// caller's: rbp matters to a step if its CFA comes from rbp, or if the step
// keeps rbp and a later step uses it. Field by field, without vectors: the
// scratch frames were just stored a word at a time, and a wider load of
// them would wait for the stores to drain (failed store forwarding).
__attribute__((optimize("no-tree-slp-vectorize"))) void StoreFresh(WalkMemo* m, uint32_t fresh,
                                                                   uint32_t n) {
  MemoFrame* mem = m->frames;
  uint32_t b = n - fresh;
  bool caller_used = b > 0 && (mem[b - 1].flags & MemoFrame::kRbpUsed) != 0;
  for (uint32_t j = fresh; j-- > 0; ++b) {
    const MemoFrame& s = m->scratch[j];
    MemoFrame& d = mem[b];
    uint64_t slot = s.rbp_slot;
    uint32_t cfa = s.flags & MemoFrame::kCfaFromRbp;
    bool used = cfa != 0 || (slot == 0 && caller_used);
    d.key = s.key;
    d.sp = s.sp;
    d.rbp = s.rbp;
    d.rbp_slot = slot;
    d.check_slot = caller_used ? slot : 0;
    d.hash_sum = 0;
    d.flags = cfa | (used ? MemoFrame::kRbpUsed : 0);
    caller_used = used;
  }
}

}  // namespace

void InitWalkMemo(WalkMemo* memo, MemoFrame* frames, MemoFrame* scratch, uint32_t capacity) {
  *memo = WalkMemo{};
  memo->frames = frames;
  memo->scratch = scratch;
  memo->capacity = capacity;
}

WalkStatus WalkRemembered(const Registers& start, uint64_t stack_lo, uint64_t stack_hi,
                          uint64_t* pcs, uint32_t cap, uint32_t* depth, WalkMemo* m) {
  if (cap > m->capacity) {
    m->count = 0;
    return Walk(start, stack_lo, stack_hi, pcs, cap, depth);
  }
  *depth = 0;
  if (cap == 0) return WalkStatus::kOk;
  if (start.sp - stack_lo >= stack_hi - stack_lo) return WalkStatus::kOutsideStack;
  uint64_t epoch = rules::Epoch();
  uint32_t old_n = m->count;
  if (epoch != m->epoch || stack_lo != m->stack_lo || stack_hi != m->stack_hi) old_n = 0;
  const MemoFrame* outermost = m->frames;
  const MemoFrame* top = outermost + old_n - 1;  // old frame k is top[-k]
  MemoFrame* fresh = m->scratch;  // by new index, the frames above the final join

  FrameRegs f{FirstKey(start), start.sp, start.rbp};
  pcs[0] = start.pc;
  uint32_t i = 0;  // f is frame i; pcs[0..i] are written, fresh[0..i) too
  uint32_t k = 0;  // the first remembered frame not below f
  uint32_t end = kEndRule;
  uint64_t end_slot = 0, copied = 0;
  bool joined_to_end = false;
  uint32_t join_i = 0;
  for (;;) {
    if (i + 1 == cap) {
      fresh[i] = Fresh(f, 0, 0);
      end = kEndCap;
      break;
    }
    while (k < old_n && top[-static_cast<int64_t>(k)].sp < f.sp) ++k;
    if (k < old_n && SameFrame(top[-static_cast<int64_t>(k)], f)) {
      // Re-check the remembered steps while the words they read are unchanged.
      // One count bounds the loop: the old walk's frames left, or the cap.
      const MemoFrame* o = top - k;
      uint32_t left = old_n - 1 - k, room = cap - 1 - i;
      uint32_t steps = left < room ? left : room, s = 0;
      for (; s < steps; ++s, --o) {
        const MemoFrame* caller = o - 1;
        if (Load(caller->sp - 8) != caller->key) break;
        if (o->check_slot != 0 && Load(o->check_slot) != caller->rbp) break;
        pcs[i + 1 + s] = caller->key;
      }
      uint32_t i0 = i, k0 = k;
      i += s;
      k += s;
      copied += s;
      bool at_cap = s == room;
      // Joined to the old walk's end if that end holds: its last step still
      // ends the stack, or both walks stop at the cap on the same frame.
      if (o == outermost &&
          (m->end == kEndRule || (m->end == kEndSmallRa && IsOutermost(Load(m->end_slot))) ||
           (m->end == kEndCap && at_cap))) {
        ++copied;
        joined_to_end = true;
        join_i = i0;
        break;
      }
      // A word changed, the old walk ended otherwise, or the cap: frames
      // i0..i-1 become fresh ones with their exact registers; step frame i.
      uint64_t rbp = f.rbp;
      for (uint32_t j = i0; j < i; ++j) {
        const MemoFrame& r = top[-static_cast<int64_t>(k0 + (j - i0))];
        fresh[j] = MemoFrame{r.key, r.sp, rbp, r.rbp_slot, 0, 0, r.flags & MemoFrame::kCfaFromRbp, 0};
        if (r.rbp_slot != 0) rbp = Load(r.rbp_slot);
      }
      f = FrameRegs{o->key, o->sp, rbp};
      if (i + 1 == cap) continue;  // ends there, above
    }
    FrameRegs next = f;
    StepInfo info;
    StepEnd s = StepToCaller(&next, stack_hi, &info);
    if (s == StepEnd::kFallback) return info.why;
    if (s == StepEnd::kEndOfStack) {
      fresh[i] = Fresh(f, 0, 0);
      end = kEndRule;
      break;
    }
    fresh[i] = Fresh(f, info.rbp_slot, info.cfa_from_rbp ? MemoFrame::kCfaFromRbp : 0);
    if (IsOutermost(next.key)) {
      end = kEndSmallRa;
      end_slot = next.sp - 8;
      break;
    }
    ++i;
    pcs[i] = next.key;
    f = next;
  }
  uint32_t n = i + 1;
  if (joined_to_end) {
    // The old frames from the join down stay where they are, with their
    // flags and, below the join frame (whose pc may now be an exact first
    // pc, key - 1, or no longer be one), their sums.
    uint32_t join_b = n - 1 - join_i;
    if (m->hashed > join_b) m->hashed = join_b;
    StoreFresh(m, join_i, n);
  } else {
    m->hashed = 0;
    m->end = end;
    m->end_slot = end_slot;
    StoreFresh(m, n, n);
  }
  m->count = n;
  m->first_exact = !start.return_address;
  m->epoch = epoch;
  m->stack_lo = stack_lo;
  m->stack_hi = stack_hi;
  m->frames_copied += copied;
  m->frames_stepped += n - copied;
  *depth = n;
  return WalkStatus::kOk;
}

uint64_t RememberedSuffixSum(WalkMemo* m, uint32_t from) {
  MemoFrame* mem = m->frames;
  uint32_t n = m->count;
  uint32_t want = n - 1 - from;  // the frame's place, counted from the outermost
  if (want < m->hashed) return mem[want].hash_sum;
  uint64_t sum = m->hashed > 0 ? mem[m->hashed - 1].hash_sum : 0;
  for (uint32_t b = m->hashed; b <= want; ++b) {
    uint64_t pc = b == n - 1 && m->first_exact ? mem[b].key - 1 : mem[b].key;
    sum += StackHashTerm(pc, b);
    mem[b].hash_sum = sum;
  }
  m->hashed = want + 1;
  return sum;
}

}  // namespace atr::unwind
