// The walk and its per-address rule cache (see table_unwinder.h).
//
// Cache: 2^14 sets of 4 ways, one 64-bit word per entry, shared by all
// threads. A word holds the address's tag and its packed rule, so a reader
// never sees half of an update (single-word atomics, no locks). The set is
// chosen by the low bits of the key and the tag holds the rest, so the key
// is never stored twice. Key: a return address (its rule is the rule at
// key-1, the call instruction); a walk's first, exact pc uses pc+1.
#include "recorder/preload/unwind/table_unwinder.h"

#include <atomic>

#include "recorder/preload/unwind/cfi.h"
#include "recorder/preload/unwind/module_registry.h"

namespace atr::unwind {
namespace {

constexpr uint32_t kSetBits = 14;
constexpr uint32_t kWays = 4;
constexpr uint64_t kSets = uint64_t{1} << kSetBits;
constexpr uint32_t kRuleBits = 31;
constexpr uint64_t kMaxKey = uint64_t{1} << 47;  // user-space addresses

// Packed rule: kind:2 | cfa_rbp:1 | cfa_offset:18 (signed) | rbp_offset/8:10
// (signed); for kind 0 (fall back) the status goes where cfa_offset is.
uint64_t Pack(FrameRule r, WalkStatus fallback) {
  if (r.kind == FrameRule::kNoFde) fallback = WalkStatus::kNoFde;
  if (r.kind == FrameRule::kUnsupported || r.kind == FrameRule::kNoFde) {
    return FrameRule::kUnsupported | static_cast<uint64_t>(fallback) << 3;
  }
  uint64_t w = r.kind;
  w |= static_cast<uint64_t>(r.cfa_rbp) << 2;
  w |= (static_cast<uint64_t>(static_cast<int64_t>(r.cfa_offset)) & 0x3ffff) << 3;
  w |= (static_cast<uint64_t>(static_cast<int64_t>(r.rbp_offset / 8)) & 0x3ff) << 21;
  return w;
}

struct Unpacked {
  uint32_t kind;
  bool cfa_rbp;
  int64_t cfa_offset;
  int64_t rbp_offset;
  WalkStatus fallback;
};

inline Unpacked Unpack(uint64_t w) {
  Unpacked u;
  u.kind = static_cast<uint32_t>(w & 3);
  u.cfa_rbp = (w >> 2) & 1;
  u.cfa_offset = static_cast<int64_t>(w << 43) >> 46;  // bits 3..20, sign-extended
  u.rbp_offset = (static_cast<int64_t>(w << 33) >> 54) * 8;  // bits 21..30
  u.fallback = static_cast<WalkStatus>((w >> 3) & 7);
  return u;
}

alignas(64) std::atomic<uint64_t> g_cache[kSets * kWays];
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

__attribute__((noinline, cold)) uint64_t MissAndInsert(uint64_t key, std::atomic<uint64_t>* set) {
  uint64_t epoch = g_epoch.load(std::memory_order_acquire);
  uint64_t rule = ComputeRule(key);
  if (key >= kMaxKey) return rule;
  uint64_t word = (key >> kSetBits) << kRuleBits | rule;
  uint32_t way = kWays;
  for (uint32_t i = 0; i < kWays; ++i) {
    if (set[i].load(std::memory_order_relaxed) == 0) {
      way = i;
      break;
    }
  }
  if (way == kWays) way = static_cast<uint32_t>((key >> kSetBits) ^ (key >> 20)) & (kWays - 1);
  if (!g_cache_dirty.load(std::memory_order_relaxed)) {
    g_cache_dirty.store(true, std::memory_order_relaxed);
  }
  set[way].store(word, std::memory_order_relaxed);
  // A module may have gone away while the rule was computed: then the
  // writer's clear may have missed this entry, so take it back.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g_epoch.load(std::memory_order_relaxed) != epoch) {
    uint64_t expected = word;
    set[way].compare_exchange_strong(expected, 0, std::memory_order_relaxed);
  }
  return rule;
}

inline uint64_t RuleFor(uint64_t key) {
  std::atomic<uint64_t>* set = &g_cache[(key & (kSets - 1)) * kWays];
  uint64_t tag = key >> kSetBits;
  for (uint32_t i = 0; i < kWays; ++i) {
    uint64_t w = set[i].load(std::memory_order_relaxed);
    if ((w >> kRuleBits) == tag && w != 0) return w & ((uint64_t{1} << kRuleBits) - 1);
  }
  return MissAndInsert(key, set);
}

void ClearCache() {
  g_epoch.fetch_add(1, std::memory_order_seq_cst);
  if (!g_cache_dirty.exchange(false, std::memory_order_relaxed)) return;
  for (auto& e : g_cache) e.store(0, std::memory_order_relaxed);
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
    Unpacked u = Unpack(RuleFor(key));
    if (u.kind == FrameRule::kEndOfStack) break;
    if (u.kind != FrameRule::kStandard) return u.fallback;
    uint64_t cfa = (u.cfa_rbp ? rbp : sp) + static_cast<uint64_t>(u.cfa_offset);
    // The caller's frame lies above ours and inside the stack: this bounds
    // every read and guarantees progress.
    if (cfa <= sp || cfa > stack_hi || cfa - 8 < stack_lo) return WalkStatus::kOutsideStack;
    uint64_t ra = *reinterpret_cast<const uint64_t*>(cfa - 8);
    if (u.rbp_offset != 0) {
      uint64_t slot = cfa + static_cast<uint64_t>(u.rbp_offset);
      if (slot < stack_lo || slot + 8 > stack_hi) return WalkStatus::kOutsideStack;
      rbp = *reinterpret_cast<const uint64_t*>(slot);
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
