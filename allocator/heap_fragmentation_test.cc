// The classic fragmentation pattern: many short-lived objects interleaved
// with a few long-lived ones of the same class; once the short-lived ones are
// freed, every span stays pinned by its long-lived objects, so modelled RSS
// stays far above the live bytes, and span iteration names exactly the
// long-lived allocations as the pins.
#include <set>

#include "allocator/heap.h"
#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

TEST(HeapFragmentationTest, LongLivedObjectsPinSpans) {
  absl::StatusOr<Config> cfg = ParseConfig({"scavenger.policy=eager"});
  ASSERT_TRUE(cfg.ok());
  absl::StatusOr<std::unique_ptr<Heap>> created = Heap::Create(*cfg);
  ASSERT_TRUE(created.ok());
  Heap& heap = **created;
  ThreadCacheId t = heap.CreateThreadCache();

  constexpr int kObjects = 128 * 1000;  // 64 B objects: 128 per 8 KiB span
  constexpr int kEvery = 100;           // one long-lived object in 100
  std::vector<uint64_t> short_lived;
  std::set<AllocationId> long_lived;
  for (int i = 0; i < kObjects; ++i) {
    absl::StatusOr<uint64_t> a = heap.Allocate(t, 64, 0, i);
    ASSERT_TRUE(a.ok());
    if (i % kEvery == 0) {
      long_lived.insert(i);
    } else {
      short_lived.push_back(*a);
    }
  }
  HeapStats peak = heap.Stats();
  for (uint64_t a : short_lived) ASSERT_TRUE(heap.Free(t, a).ok());
  ASSERT_TRUE(heap.FlushThreadCache(t).ok());
  ASSERT_TRUE(heap.Validate().ok()) << heap.Validate();

  HeapStats st = heap.Stats();
  EXPECT_EQ(st.live_objects, long_lived.size());
  EXPECT_EQ(st.live_requested_bytes, 64u * long_lived.size());
  // Every span keeps at least one long-lived object: nothing is released.
  EXPECT_EQ(st.resident_bytes, peak.resident_bytes);
  EXPECT_GT(st.resident_bytes, 50 * st.live_requested_bytes);
  EXPECT_GT(st.Fragmentation(), 0.98);
  EXPECT_GT(st.free_slot_bytes, 90 * st.live_requested_bytes);

  std::set<AllocationId> pins;
  uint64_t spans = 0;
  heap.ForEachSpan([&](const SpanView& v) {
    ++spans;
    EXPECT_EQ(v.object_size, 64u);
    EXPECT_GE(v.live_ids.size(), 1u);
    pins.insert(v.live_ids.begin(), v.live_ids.end());
  });
  EXPECT_EQ(spans, st.small_spans);
  EXPECT_EQ(spans, uint64_t{kObjects} / 128);
  EXPECT_EQ(pins, long_lived);

  // Freeing the pins lets the scavenger give everything back.
  std::vector<uint64_t> pinned;
  heap.ForEachSpan([&](const SpanView& v) {
    pinned.insert(pinned.end(), v.live_addresses.begin(), v.live_addresses.end());
  });
  for (uint64_t a : pinned) ASSERT_TRUE(heap.Free(t, a).ok());
  ASSERT_TRUE(heap.FlushThreadCache(t).ok());
  EXPECT_EQ(heap.Stats().resident_bytes, 0u);
  EXPECT_EQ(heap.Stats().small_spans, 0u);
}

}  // namespace
}  // namespace atr::alloc
