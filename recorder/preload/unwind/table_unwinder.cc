// The walk and its per-address rule cache (see table_unwinder.h).
//
// Cache: two direct-mapped arrays of 2^16 64-bit words, shared by all
// threads. A word holds the address's tag and its packed rule, so a reader
// never sees half of an update (single-word atomics, no locks). The slot is
// the low 16 bits of the key and the tag the rest, so the key is never
// stored twice. A new rule goes to the primary array and pushes the one it
// replaces to the secondary: lookups almost always hit the primary, a
// branch the CPU predicts. Key: a return address (its rule is the rule at
// key-1, the call instruction); a walk's first, exact pc uses pc+1.
//
// The per-frame critical path is load return address -> load rule -> add
// the CFA offset -> load the next return address; the packing keeps the
// decode on it to one AND (the offset sits unsigned in the low bits).
#include "recorder/preload/unwind/table_unwinder.h"

#include <atomic>

#include "recorder/preload/unwind/cfi.h"
#include "recorder/preload/unwind/module_registry.h"

#define ATR_UNWIND_LIKELY(x) __builtin_expect(!!(x), 1)

namespace atr::unwind {
namespace {

constexpr uint32_t kSlotBits = 16;
constexpr uint64_t kSlots = uint64_t{1} << kSlotBits;
constexpr uint32_t kTagShift = 33;               // rule in bits 0..32
constexpr uint64_t kMaxKey = uint64_t{1} << 47;  // user-space addresses

// Packed rule: cfa_offset:18 (unsigned) | cfa_rbp:1 | rbp_offset/8:10
// (signed) | kind:2. For kind 0 (fall back) the status sits in bits 0..2.
constexpr uint64_t kCfaOffsetMask = 0x3ffff;
constexpr uint32_t kCfaRbpBit = 18, kRbpShift = 19, kKindShift = 29;

uint64_t Pack(FrameRule r, WalkStatus fallback) {
  if (r.kind == FrameRule::kNoFde) fallback = WalkStatus::kNoFde;
  if (r.kind == FrameRule::kStandard &&
      (r.cfa_offset <= 0 || static_cast<uint64_t>(r.cfa_offset) > kCfaOffsetMask)) {
    r.kind = FrameRule::kUnsupported;  // not seen in compiled code
  }
  if (r.kind == FrameRule::kUnsupported || r.kind == FrameRule::kNoFde) {
    return uint64_t{FrameRule::kUnsupported} << kKindShift | static_cast<uint64_t>(fallback);
  }
  uint64_t w = uint64_t{r.kind} << kKindShift;
  w |= static_cast<uint64_t>(r.cfa_offset);
  w |= uint64_t{r.cfa_rbp} << kCfaRbpBit;
  w |= (static_cast<uint64_t>(static_cast<int64_t>(r.rbp_offset / 8)) & 0x3ff) << kRbpShift;
  return w;
}

inline uint32_t KindOf(uint64_t w) { return static_cast<uint32_t>(w >> kKindShift) & 3; }
inline int64_t RbpOffsetOf(uint64_t w) {
  return (static_cast<int64_t>(w << (64 - kRbpShift - 10)) >> 54) * 8;
}
inline WalkStatus FallbackOf(uint64_t w) {
  auto s = static_cast<WalkStatus>(w & 7);
  return s == WalkStatus::kOk ? WalkStatus::kUnsupported : s;
}

alignas(64) std::atomic<uint64_t> g_primary[kSlots];
alignas(64) std::atomic<uint64_t> g_secondary[kSlots];
std::atomic<uint64_t> g_epoch{0};       // bumped when cached rules may be stale
std::atomic<bool> g_cache_dirty{false};  // anything inserted since the last clear

// The rule for a key, computed from the module's .eh_frame.
uint64_t ComputeRule(uint64_t key) {
  uint64_t pc = key - 1;
  ModuleView m;
  if (!FindModule(pc, &m)) return Pack({}, WalkStatus::kNoModule);
  const uint8_t* fde = FindFde(m.index, pc);
  if (fde == nullptr) return Pack({}, WalkStatus::kNoFde);
  FrameRule r = RuleForPc(fde, pc);
  return Pack(r, WalkStatus::kUnsupported);
}

__attribute__((noinline, cold)) uint64_t MissAndInsert(uint64_t key) {
  uint64_t epoch = g_epoch.load(std::memory_order_acquire);
  uint64_t rule = ComputeRule(key);
  if (key >= kMaxKey) return rule;
  uint64_t slot = key & (kSlots - 1);
  uint64_t word = (key >> kSlotBits) << kTagShift | rule;
  // Two relaxed stores: a concurrent reader may miss both copies and
  // compute the rule itself, never see a wrong one.
  uint64_t old = g_primary[slot].load(std::memory_order_relaxed);
  if (old != 0) g_secondary[slot].store(old, std::memory_order_relaxed);
  if (!g_cache_dirty.load(std::memory_order_relaxed)) {
    g_cache_dirty.store(true, std::memory_order_relaxed);
  }
  g_primary[slot].store(word, std::memory_order_relaxed);
  // A module may have gone away while the rule was computed: then the
  // writer's clear may have missed this entry, so take it back.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g_epoch.load(std::memory_order_relaxed) != epoch) {
    uint64_t expected = word;
    g_primary[slot].compare_exchange_strong(expected, 0, std::memory_order_relaxed);
  }
  return rule;
}

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

void ClearCache() {
  g_epoch.fetch_add(1, std::memory_order_seq_cst);
  if (!g_cache_dirty.exchange(false, std::memory_order_relaxed)) return;
  for (auto& e : g_primary) e.store(0, std::memory_order_relaxed);
  for (auto& e : g_secondary) e.store(0, std::memory_order_relaxed);
}

}  // namespace

WalkStatus Walk(const Registers& start, uint64_t stack_lo, uint64_t stack_hi, uint64_t* pcs,
                uint32_t cap, uint32_t* depth) {
  uint64_t pc = start.pc, sp = start.sp, rbp = start.rbp;
  *depth = 0;
  if (cap == 0) return WalkStatus::kOk;
  if (sp - stack_lo >= stack_hi - stack_lo) return WalkStatus::kOutsideStack;
  uint32_t n = 0;
  pcs[n++] = pc;
  uint64_t key = pc + 1;  // the first pc is exact, not a return address
  while (n < cap) {
    uint64_t w = RuleFor(key);
    uint32_t kind = KindOf(w);
    if (kind == FrameRule::kEndOfStack) break;
    if (kind != FrameRule::kStandard) return FallbackOf(w);
    uint64_t base = (w >> kCfaRbpBit) & 1 ? rbp : sp;
    uint64_t cfa = base + (w & kCfaOffsetMask);
    // The caller's frame lies above ours (at least the return address) and
    // inside the stack: every read is between the current sp and stack_hi,
    // memory that is mapped, and every step makes progress.
    if (cfa < sp + 8 || cfa > stack_hi) return WalkStatus::kOutsideStack;
    uint64_t ra = *reinterpret_cast<const uint64_t*>(cfa - 8);
    int64_t rbp_offset = RbpOffsetOf(w);
    if (rbp_offset != 0) {
      uint64_t at = cfa + static_cast<uint64_t>(rbp_offset);
      if (at < sp || at + 8 > cfa) return WalkStatus::kOutsideStack;  // in this frame
      rbp = *reinterpret_cast<const uint64_t*>(at);
    }
    sp = cfa;
    if (ra < 0x4000) break;  // libunwind's end-of-stack test
    pcs[n++] = ra;
    key = ra;
  }
  *depth = n;
  return WalkStatus::kOk;
}

void AddModule(uint64_t lo, uint64_t hi, const uint8_t* eh_frame_hdr) {
  // A new module can only turn "no module" answers into rules.
  if (RegisterModule(lo, hi, eh_frame_hdr)) ClearCache();
}

void RemoveModule(uint64_t lo, uint64_t hi) {
  if (UnregisterModule(lo, hi)) ClearCache();
}

}  // namespace atr::unwind
