// Randomized operation sequences against a simple reference model, in
// several configurations. After every step: the O(1) counters equal the
// reference's, the accounting identities hold, the new object overlaps no
// live one and is aligned. Every few thousand steps: Heap::Validate(). Two
// runs of a sequence give identical addresses.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "allocator/heap.h"
#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

struct RefObject {
  uint64_t usable;
  uint64_t requested;
  AllocationId id;
};

struct RunResult {
  uint64_t address_hash = 0;
  HeapStats final_stats;
};

void CheckCounters(const Heap& heap, const std::map<uint64_t, RefObject>& ref,
                   uint64_t requested, uint64_t usable, uint64_t step) {
  HeapStats st = heap.Stats();
  ASSERT_EQ(st.live_objects, ref.size()) << "step " << step;
  ASSERT_EQ(st.live_requested_bytes, requested) << "step " << step;
  ASSERT_EQ(st.allocated_bytes, usable) << "step " << step;
  ASSERT_EQ(st.internal_waste_bytes, usable - requested) << "step " << step;
  ASSERT_EQ(st.in_use_span_bytes, st.allocated_bytes + st.span_tail_bytes +
                                      st.free_slot_bytes +
                                      st.thread_cache_bytes)
      << "step " << step;
  ASSERT_EQ(st.mapped_bytes, st.in_use_span_bytes + st.free_retained_bytes +
                                 st.released_bytes)
      << "step " << step;
  ASSERT_LE(st.resident_bytes, st.in_use_span_bytes + st.free_retained_bytes)
      << "step " << step;
  ASSERT_GE(st.resident_bytes, requested == 0 ? 0 : 1) << "step " << step;
}

void RunSequence(const Config& cfg, uint64_t seed, int steps, RunResult* out) {
  absl::StatusOr<std::unique_ptr<Heap>> created = Heap::Create(cfg);
  ASSERT_TRUE(created.ok()) << created.status();
  Heap& heap = **created;
  const SizeClasses& classes = heap.size_classes();
  const uint64_t page = cfg.page_size;
  constexpr int kThreads = 4;
  for (int t = 0; t < kThreads; ++t) heap.CreateThreadCache();

  std::mt19937_64 rng(seed);
  std::map<uint64_t, RefObject> ref;  // address -> object
  std::vector<uint64_t> live;         // addresses, for picking victims
  std::vector<uint64_t> freed;        // recently freed addresses
  uint64_t requested = 0, usable = 0;
  AllocationId next_id = 1;
  // Target population oscillates so spans fill, drain and return.
  auto target = [&](int step) {
    return 2000 + 1500 * ((step / 20000) % 4);
  };

  for (int step = 0; step < steps; ++step) {
    const ThreadCacheId tc = static_cast<ThreadCacheId>(rng() % kThreads);
    const uint64_t dice = rng() % 1000;
    const bool grow = live.size() < static_cast<size_t>(target(step));
    if (dice < 5) {
      // Bad frees: each must be an error and change nothing.
      HeapStats before = heap.Stats();
      uint64_t bad = 0;
      if (dice == 0 && !freed.empty()) {
        bad = freed[rng() % freed.size()];
      } else if (dice == 1) {
        bad = cfg.address_base - 64;
      } else if (dice == 2 && !live.empty()) {
        uint64_t a = live[rng() % live.size()];
        if (ref[a].usable >= 16) bad = a + 8;
      } else if (dice == 3) {
        bad = cfg.address_base + (rng() % (1ull << 34));
      }
      if (bad == 0) continue;
      auto it = ref.upper_bound(bad);
      bool inside_live = false;
      if (it != ref.begin()) {
        --it;
        inside_live = bad < it->first + it->second.usable;
        if (it->first == bad) continue;  // reused by a live object: a valid free
      }
      absl::Status st = heap.Free(tc, bad);
      ASSERT_FALSE(st.ok()) << "step " << step << ": free of 0x" << std::hex
                            << bad << " accepted (inside live: "
                            << inside_live << ")";
      HeapStats after = heap.Stats();
      ASSERT_EQ(after.live_objects, before.live_objects);
      ASSERT_EQ(after.live_requested_bytes, before.live_requested_bytes);
      ASSERT_EQ(after.in_use_span_bytes, before.in_use_span_bytes);
      continue;
    }
    if (dice < 8) {
      heap.Tick(rng() % 5000);
    } else if (dice < 9) {
      ASSERT_TRUE(heap.FlushThreadCache(tc).ok());
    } else if (grow ? dice < 600 : dice < 420) {
      uint64_t size;
      uint64_t r = rng() % 100;
      if (r < 60) {
        size = rng() % 257;
      } else if (r < 90) {
        size = rng() % 4097;
      } else if (r < 98) {
        size = rng() % 40000;
      } else {
        size = rng() % 400000;
      }
      uint64_t align = 0;
      uint64_t ar = rng() % 100;
      if (ar < 10) align = 16;
      else if (ar < 13) align = 64;
      else if (ar < 14) align = 4096;
      else if (ar < 15) align = 2 * page;
      const uint32_t cls = classes.ClassFor(size, align);
      const uint64_t expect_usable =
          cls != 0 ? classes.info(cls).size
                   : (std::max<uint64_t>(size, 1) + page - 1) / page * page;
      const AllocationId id = next_id++;
      absl::StatusOr<uint64_t> a = heap.Allocate(tc, size, align, id);
      ASSERT_TRUE(a.ok()) << a.status();
      const uint64_t addr = *a;
      ASSERT_EQ(addr % std::max<uint64_t>(align, 8), 0u) << "step " << step;
      auto next = ref.lower_bound(addr);
      ASSERT_TRUE(next == ref.end() || next->first >= addr + expect_usable)
          << "step " << step << ": overlaps the next object";
      if (next != ref.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second.usable, addr)
            << "step " << step << ": overlaps the previous object";
      }
      ref[addr] = RefObject{expect_usable, size, id};
      live.push_back(addr);
      requested += size;
      usable += expect_usable;
      out->address_hash = (out->address_hash ^ addr) * 0x100000001b3ull;
      if (step % 64 == 0) {
        absl::StatusOr<ObjectInfo> info = heap.Lookup(addr + size / 2);
        ASSERT_TRUE(info.ok()) << info.status();
        ASSERT_EQ(info->address, addr);
        ASSERT_EQ(info->id, id);
        ASSERT_EQ(info->usable_bytes, expect_usable);
        ASSERT_EQ(info->requested_bytes, size);
      }
    } else if (!live.empty()) {
      size_t i = rng() % live.size();
      uint64_t addr = live[i];
      live[i] = live.back();
      live.pop_back();
      absl::Status st = heap.Free(tc, addr);
      ASSERT_TRUE(st.ok()) << "step " << step << ": " << st;
      requested -= ref[addr].requested;
      usable -= ref[addr].usable;
      ref.erase(addr);
      if (freed.size() < 64) {
        freed.push_back(addr);
      } else {
        freed[rng() % 64] = addr;
      }
    }
    CheckCounters(heap, ref, requested, usable, step);
    if (::testing::Test::HasFatalFailure()) return;
    if (step % 4999 == 0) {
      absl::Status v = heap.Validate();
      ASSERT_TRUE(v.ok()) << "step " << step << ": " << v;
    }
  }
  ASSERT_TRUE(heap.Validate().ok()) << heap.Validate();
  // Span iteration reports exactly the live objects.
  std::map<uint64_t, AllocationId> seen;
  heap.ForEachSpan([&](const SpanView& v) {
    for (size_t i = 0; i < v.live_ids.size(); ++i) {
      seen[v.live_addresses[i]] = v.live_ids[i];
    }
  });
  ASSERT_EQ(seen.size(), ref.size());
  for (const auto& [addr, obj] : ref) ASSERT_EQ(seen[addr], obj.id);
  out->final_stats = heap.Stats();
}

struct Case {
  const char* name;
  std::vector<std::string> options;
};

class HeapRandomTest : public ::testing::TestWithParam<Case> {};

TEST_P(HeapRandomTest, MatchesReferenceAndIsDeterministic) {
  absl::StatusOr<Config> cfg = ParseConfig(GetParam().options);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  constexpr int kSteps = 400000;  // two runs: 800k operations per config
  RunResult first, second;
  RunSequence(*cfg, 7, kSteps, &first);
  if (HasFatalFailure()) return;
  RunSequence(*cfg, 7, kSteps, &second);
  if (HasFatalFailure()) return;
  EXPECT_EQ(first.address_hash, second.address_hash);
  // The sequence really exercised the tiers.
  EXPECT_GT(first.final_stats.allocations, uint64_t{kSteps} / 3);
  EXPECT_GT(first.final_stats.frees, uint64_t{kSteps} / 3);
  if (cfg->scavenge_policy != ScavengePolicy::kOff) {
    EXPECT_GT(first.final_stats.pages_released_total, 0u);
  }
  EXPECT_EQ(first.final_stats.resident_bytes, second.final_stats.resident_bytes);
  EXPECT_EQ(first.final_stats.released_bytes, second.final_stats.released_bytes);
  EXPECT_EQ(first.final_stats.central_transfers,
            second.final_stats.central_transfers);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, HeapRandomTest,
    ::testing::Values(
        Case{"defaults", {}},
        Case{"tcmalloc_fullest_best_eager",
             {"size_classes=tcmalloc", "central.span_policy=fullest",
              "page_heap.fit=best", "scavenger.policy=eager",
              "thread_cache.return=all", "thread_cache.capacity_bytes=256k"}},
        Case{"custom_no_cache_idle",
             {"size_classes=custom", "custom_classes=16,32,48,96:2,512,3000",
              "thread_cache.capacity_bytes=0", "scavenger.policy=idle",
              "scavenger.idle_events=3000", "arena_size=4m"}},
        Case{"small_pages_tiny_cache_off",
             {"page_size=4096", "thread_cache.capacity_bytes=16k",
              "thread_cache.max_objects=8", "scavenger.policy=off",
              "central.span_policy=fullest", "central.occupancy_lists=4"}},
        Case{"big_pages_target",
             {"page_size=64k", "scavenger.policy=target",
              "scavenger.target_percent=100", "arena_size=16m"}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace atr::alloc
