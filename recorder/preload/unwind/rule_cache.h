// The table unwinder's per-address rule cache (internal to unwind/): for a
// return address, the packed FrameRule of the call instruction before it,
// computed once from the module's .eh_frame.
//
// Layout: two direct-mapped arrays of 2^16 64-bit words, shared by all
// threads. A word holds the address's tag and its packed rule, so a reader
// never sees half of an update (single-word atomics, no locks). The slot is
// the low 16 bits of the key and the tag the rest, so the key is never
// stored twice. A new rule goes to the primary array and pushes the one it
// replaces to the secondary: lookups almost always hit the primary, a
// branch the CPU predicts. Key: a return address (its rule is the rule at
// key-1, the call instruction); a walk's first, exact pc uses pc+1.
//
// Invariant: every cached rule is the one ComputeRule would give now, for
// the modules registered now. Whenever that may stop being true (a module
// added or removed) the epoch grows first and the arrays are cleared, so a
// walk that remembers rules (walk_memo.h) and sees the same epoch before
// and after knows its rules still hold.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_RULE_CACHE_H_
#define ATR_RECORDER_PRELOAD_UNWIND_RULE_CACHE_H_

#include <atomic>
#include <cstdint>

#include "recorder/preload/unwind/cfi.h"
#include "recorder/preload/unwind/table_unwinder.h"

#define ATR_UNWIND_LIKELY(x) __builtin_expect(!!(x), 1)

namespace atr::unwind::rules {

inline constexpr uint32_t kSlotBits = 16;
inline constexpr uint64_t kSlots = uint64_t{1} << kSlotBits;
inline constexpr uint32_t kTagShift = 33;  // rule in bits 0..32

// Packed rule: cfa_offset:18 (unsigned) | cfa_rbp:1 | rbp_offset/8:10
// (signed) | kind:2. For kind 0 (fall back) the status sits in bits 0..2.
// The per-frame critical path is load return address -> load rule -> add
// the CFA offset -> load the next return address; the packing keeps the
// decode on it to one AND (the offset sits unsigned in the low bits).
inline constexpr uint64_t kCfaOffsetMask = 0x3ffff;
inline constexpr uint32_t kCfaRbpBit = 18, kRbpShift = 19, kKindShift = 29;

inline uint32_t KindOf(uint64_t w) { return static_cast<uint32_t>(w >> kKindShift) & 3; }
inline bool CfaFromRbp(uint64_t w) { return (w >> kCfaRbpBit) & 1; }
inline int64_t RbpOffsetOf(uint64_t w) {
  return (static_cast<int64_t>(w << (64 - kRbpShift - 10)) >> 54) * 8;
}
inline WalkStatus FallbackOf(uint64_t w) {
  auto s = static_cast<WalkStatus>(w & 7);
  return s == WalkStatus::kOk ? WalkStatus::kUnsupported : s;
}

extern std::atomic<uint64_t> g_primary[kSlots];
extern std::atomic<uint64_t> g_secondary[kSlots];
extern std::atomic<uint64_t> g_epoch;

// Computes, caches and returns the rule for a key missing from both arrays.
uint64_t MissAndInsert(uint64_t key);

// The packed rule for a key (rule bits only). Words are never 0 once
// written (the kind bits of every rule are nonzero or its status is), and
// an empty word's tag 0 cannot match: keys below 2^16 are not code.
inline uint64_t RuleFor(uint64_t key) {
  constexpr uint64_t kRuleMask = (uint64_t{1} << kTagShift) - 1;
  uint64_t slot = key & (kSlots - 1);
  uint64_t tag = key >> kSlotBits;
  uint64_t w = g_primary[slot].load(std::memory_order_relaxed);
  if (ATR_UNWIND_LIKELY((w >> kTagShift) == tag && tag != 0)) return w & kRuleMask;
  w = g_secondary[slot].load(std::memory_order_relaxed);
  if ((w >> kTagShift) == tag && tag != 0) return w & kRuleMask;
  return MissAndInsert(key);
}

// Grows whenever a cached rule may have become wrong (see the invariant).
inline uint64_t Epoch() { return g_epoch.load(std::memory_order_acquire); }

// Bumps the epoch and empties both arrays (module registry writers only).
void Clear();

}  // namespace atr::unwind::rules

#endif  // ATR_RECORDER_PRELOAD_UNWIND_RULE_CACHE_H_
