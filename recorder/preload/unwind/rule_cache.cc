// The rule cache's storage and its slow paths (see rule_cache.h).
#include "recorder/preload/unwind/rule_cache.h"

#include "recorder/preload/unwind/module_registry.h"

namespace atr::unwind::rules {

alignas(64) std::atomic<uint64_t> g_primary[kSlots];
alignas(64) std::atomic<uint64_t> g_secondary[kSlots];
std::atomic<uint64_t> g_epoch{0};  // bumped when cached rules may be stale

namespace {

constexpr uint64_t kMaxKey = uint64_t{1} << 47;  // user-space addresses
std::atomic<bool> g_cache_dirty{false};          // anything inserted since the last clear

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

}  // namespace

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

void Clear() {
  g_epoch.fetch_add(1, std::memory_order_seq_cst);
  if (!g_cache_dirty.exchange(false, std::memory_order_relaxed)) return;
  for (auto& e : g_primary) e.store(0, std::memory_order_relaxed);
  for (auto& e : g_secondary) e.store(0, std::memory_order_relaxed);
}

}  // namespace atr::unwind::rules
