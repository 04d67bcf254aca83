// Seqlock-guarded module slots (see module_registry.h).
#include "recorder/preload/unwind/module_registry.h"

#include <atomic>

namespace atr::unwind {
namespace {

constexpr uint32_t kMaxModules = 1024;

struct Slot {
  std::atomic<uint32_t> seq;  // odd while the writer rewrites the slot
  std::atomic<uint64_t> lo, hi;  // hi == 0: free
  std::atomic<uint64_t> hdr, table, count;
};

Slot g_slots[kMaxModules];
std::atomic<uint32_t> g_used{0};  // slots [0, g_used) may be in use

bool ReadSlot(const Slot& s, ModuleView* out) {
  uint32_t before = s.seq.load(std::memory_order_acquire);
  if (before & 1) return false;
  out->lo = s.lo.load(std::memory_order_relaxed);
  out->hi = s.hi.load(std::memory_order_relaxed);
  out->index.hdr = reinterpret_cast<const uint8_t*>(s.hdr.load(std::memory_order_relaxed));
  out->index.table = reinterpret_cast<const int32_t*>(s.table.load(std::memory_order_relaxed));
  out->index.count = s.count.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  return s.seq.load(std::memory_order_relaxed) == before;
}

void WriteSlot(Slot& s, uint64_t lo, uint64_t hi, const EhFrameIndex& index) {
  uint32_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.lo.store(lo, std::memory_order_relaxed);
  s.hi.store(hi, std::memory_order_relaxed);
  s.hdr.store(reinterpret_cast<uint64_t>(index.hdr), std::memory_order_relaxed);
  s.table.store(reinterpret_cast<uint64_t>(index.table), std::memory_order_relaxed);
  s.count.store(index.count, std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
}

}  // namespace

bool FindModule(uint64_t pc, ModuleView* out) {
  uint32_t used = g_used.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < used; ++i) {
    const Slot& s = g_slots[i];
    uint64_t lo = s.lo.load(std::memory_order_relaxed);
    uint64_t hi = s.hi.load(std::memory_order_relaxed);
    if (pc - lo >= hi - lo) continue;  // quick reject; confirmed below
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (ReadSlot(s, out)) return pc - out->lo < out->hi - out->lo;
    }
    return false;
  }
  return false;
}

bool RegisterModule(uint64_t lo, uint64_t hi, const uint8_t* eh_frame_hdr) {
  if (hi <= lo) return false;
  uint32_t used = g_used.load(std::memory_order_relaxed);
  uint32_t free_slot = used;
  for (uint32_t i = 0; i < used; ++i) {
    const Slot& s = g_slots[i];
    uint64_t slo = s.lo.load(std::memory_order_relaxed);
    uint64_t shi = s.hi.load(std::memory_order_relaxed);
    if (slo == lo && shi == hi) return false;
    if (shi == 0 && free_slot == used) free_slot = i;
  }
  if (free_slot == kMaxModules) return false;  // full: its pcs fall back
  EhFrameIndex index;
  if (!ParseEhFrameHdr(eh_frame_hdr, &index)) index = EhFrameIndex{};
  WriteSlot(g_slots[free_slot], lo, hi, index);
  if (free_slot == used) g_used.store(used + 1, std::memory_order_release);
  return true;
}

bool UnregisterModule(uint64_t lo, uint64_t hi) {
  uint32_t used = g_used.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < used; ++i) {
    Slot& s = g_slots[i];
    if (s.lo.load(std::memory_order_relaxed) == lo && s.hi.load(std::memory_order_relaxed) == hi) {
      WriteSlot(s, 0, 0, EhFrameIndex{});
      return true;
    }
  }
  return false;
}

}  // namespace atr::unwind
