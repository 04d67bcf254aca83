#include "allocator/heap.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<Heap> MakeHeap(std::vector<std::string> options = {}) {
  absl::StatusOr<Config> cfg = ParseConfig(options);
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(*cfg);
  EXPECT_TRUE(heap.ok()) << heap.status();
  return *std::move(heap);
}

uint64_t Must(absl::StatusOr<uint64_t> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : 0;
}

TEST(HeapTest, RejectsInvalidConfig) {
  Config cfg;
  cfg.page_size = 3000;
  EXPECT_THAT(Heap::Create(cfg).status().message(), HasSubstr("page_size"));
}

TEST(HeapTest, AllocateLookupFree) {
  auto heap = MakeHeap();
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t a = Must(heap->Allocate(t, 100, 0, 41));
  uint64_t b = Must(heap->Allocate(t, 100, 0, 42));
  EXPECT_EQ(a, 0xc000000000u);  // first object of the first span
  EXPECT_EQ(b, a + 112);        // next slot of the 112-byte class
  absl::StatusOr<ObjectInfo> info = heap->Lookup(b + 50);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->address, b);
  EXPECT_EQ(info->id, 42u);
  EXPECT_EQ(info->requested_bytes, 100u);
  EXPECT_EQ(info->usable_bytes, 112u);
  HeapStats st = heap->Stats();
  EXPECT_EQ(st.live_objects, 2u);
  EXPECT_EQ(st.live_requested_bytes, 200u);
  EXPECT_EQ(st.allocated_bytes, 224u);
  EXPECT_EQ(st.internal_waste_bytes, 24u);
  EXPECT_EQ(st.small_spans, 1u);
  EXPECT_EQ(st.in_use_span_bytes, 8192u);
  EXPECT_EQ(st.span_tail_bytes, 8192u - 73 * 112);
  EXPECT_EQ(st.resident_bytes, 4096u);
  EXPECT_EQ(st.mapped_bytes, 64u << 20);
  // A batch of 32 came from the central list: 2 handed out, 30 cached.
  EXPECT_EQ(st.thread_cache_bytes, 30u * 112);
  EXPECT_EQ(st.central_transfers, 1u);
  EXPECT_TRUE(heap->Free(t, a).ok());
  EXPECT_TRUE(heap->Free(t, b).ok());
  EXPECT_EQ(heap->Stats().live_objects, 0u);
  EXPECT_TRUE(heap->Validate().ok()) << heap->Validate();
  // LIFO: the warmest object comes back first.
  EXPECT_EQ(Must(heap->Allocate(t, 100, 0, 43)), b);
  EXPECT_EQ(heap->now(), 5u);
}

TEST(HeapTest, BadFreesAreErrorsAndChangeNothing) {
  auto heap = MakeHeap();
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t small = Must(heap->Allocate(t, 64, 0, 1));
  uint64_t large = Must(heap->Allocate(t, 100000, 0, 2));
  HeapStats before = heap->Stats();
  EXPECT_EQ(heap->Free(t, 0x1234).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(heap->Free(t, small + 8).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(heap->Free(t, large + 8192).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(heap->Free(t, small + 64 * 5).code(),  // carved, never handed out
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(heap->Free(t, small + 8192 * 30).code(),  // pages never used
            absl::StatusCode::kNotFound);
  EXPECT_EQ(heap->Free(99, small).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(heap->Allocate(t, 8, 24, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  HeapStats after = heap->Stats();
  EXPECT_EQ(after.live_objects, before.live_objects);
  EXPECT_EQ(after.live_requested_bytes, before.live_requested_bytes);
  EXPECT_TRUE(heap->Free(t, 0).ok());  // free(NULL)

  ASSERT_TRUE(heap->Free(t, small).ok());
  absl::Status twice = heap->Free(t, small);
  EXPECT_EQ(twice.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(twice.message(), HasSubstr("double free"));
  ASSERT_TRUE(heap->Free(t, large).ok());
  EXPECT_EQ(heap->Free(t, large).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(heap->Validate().ok()) << heap->Validate();
}

TEST(HeapTest, LargeAndAlignedObjects) {
  auto heap = MakeHeap();
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t a = Must(heap->Allocate(t, 40000, 0, 1));
  EXPECT_EQ(a % 8192, 0u);
  EXPECT_EQ(heap->Lookup(a)->usable_bytes, 5u * 8192);
  uint64_t b = Must(heap->Allocate(t, 10, 1 << 20, 2));
  EXPECT_EQ(b % (1 << 20), 0u);
  uint64_t c = Must(heap->Allocate(t, 10, 4096, 3));
  EXPECT_EQ(c % 4096, 0u);
  EXPECT_EQ(heap->Lookup(c)->usable_bytes, 4096u);
  uint64_t huge = Must(heap->Allocate(t, uint64_t{3} << 30, 0, 4));  // 3 GiB
  EXPECT_GE(heap->Stats().mapped_bytes, uint64_t{3} << 30);
  // The whole requested range is covered by the allocation: resident.
  EXPECT_GE(heap->Stats().resident_bytes, uint64_t{3} << 30);
  EXPECT_TRUE(heap->Free(t, huge).ok());
  EXPECT_EQ(heap->Allocate(t, uint64_t{1} << 62, 0, 5).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(heap->Validate().ok()) << heap->Validate();
}

TEST(HeapTest, ObjectsMoveBetweenThreadCaches) {
  auto heap = MakeHeap();
  ThreadCacheId t0 = heap->CreateThreadCache();
  ThreadCacheId t1 = heap->CreateThreadCache();
  uint64_t a = Must(heap->Allocate(t0, 32, 0, 1));
  ASSERT_TRUE(heap->Free(t1, a).ok());  // freed by another thread
  EXPECT_EQ(Must(heap->Allocate(t1, 32, 0, 2)), a);
  ASSERT_TRUE(heap->FlushThreadCache(t0).ok());
  ASSERT_TRUE(heap->FlushThreadCache(t1).ok());
  EXPECT_EQ(heap->Stats().thread_cache_bytes, 0u);
  EXPECT_TRUE(heap->Validate().ok()) << heap->Validate();
}

TEST(HeapTest, ForEachSpanReportsLiveIds) {
  auto heap = MakeHeap({"thread_cache.capacity_bytes=0"});
  ThreadCacheId t = heap->CreateThreadCache();
  std::vector<uint64_t> addrs;
  for (uint64_t id = 100; id < 110; ++id) {
    addrs.push_back(Must(heap->Allocate(t, 1000, 0, id)));
  }
  uint64_t big = Must(heap->Allocate(t, 50000, 0, 500));
  ASSERT_TRUE(heap->Free(t, addrs[1]).ok());
  ASSERT_TRUE(heap->Free(t, addrs[8]).ok());
  std::vector<std::vector<AllocationId>> ids;
  std::vector<uint32_t> classes;
  heap->ForEachSpan([&](const SpanView& v) {
    ids.emplace_back(v.live_ids.begin(), v.live_ids.end());
    classes.push_back(v.size_class);
    if (v.size_class == 0) {
      EXPECT_EQ(v.address, big);
      EXPECT_EQ(v.live_requested_bytes, 50000u);
    }
  });
  // 1000 B -> 1024 B class, 8 per span: two spans, then the large object.
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_THAT(ids[0], ElementsAre(100, 102, 103, 104, 105, 106, 107));
  EXPECT_THAT(ids[1], ElementsAre(109));
  EXPECT_THAT(ids[2], ElementsAre(500));
  EXPECT_EQ(classes[2], 0u);
  std::vector<SizeClassStats> cs = heap->ClassStats();
  const SizeClassStats& k = cs[heap->size_classes().ClassFor(1000, 0)];
  EXPECT_EQ(k.spans, 2u);
  EXPECT_EQ(k.live_objects, 8u);
  EXPECT_EQ(k.free_slots, 8u);
  EXPECT_EQ(k.utilization_histogram[8], 1u);  // 7/8 live
  EXPECT_EQ(k.utilization_histogram[1], 1u);  // 1/8 live
}

TEST(HeapTest, ScavengerEagerReleasesFreedRuns) {
  auto heap = MakeHeap({"scavenger.policy=eager"});
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t a = Must(heap->Allocate(t, 1 << 20, 0, 1));
  EXPECT_EQ(heap->Stats().resident_bytes, 1u << 20);
  ASSERT_TRUE(heap->Free(t, a).ok());
  HeapStats st = heap->Stats();
  EXPECT_EQ(st.resident_bytes, 0u);
  EXPECT_EQ(st.free_retained_bytes, 0u);
  EXPECT_EQ(st.released_bytes, st.mapped_bytes);
}

TEST(HeapTest, ScavengerIdleWaitsForTheClock) {
  auto heap = MakeHeap({"scavenger.policy=idle", "scavenger.idle_events=100"});
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t a = Must(heap->Allocate(t, 1 << 20, 0, 1));
  ASSERT_TRUE(heap->Free(t, a).ok());
  heap->Tick(98);
  EXPECT_EQ(heap->Stats().free_retained_bytes, 1u << 20);
  EXPECT_EQ(heap->Stats().resident_bytes, 1u << 20);
  heap->Tick(2);
  EXPECT_EQ(heap->Stats().free_retained_bytes, 0u);
  EXPECT_EQ(heap->Stats().resident_bytes, 0u);
}

TEST(HeapTest, ScavengerTargetKeepsRetainedNearInUse) {
  auto heap = MakeHeap({"scavenger.policy=target",
                        "scavenger.target_percent=150"});
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t keep = Must(heap->Allocate(t, 4 << 20, 0, 1));  // 4 MiB in use
  uint64_t a = Must(heap->Allocate(t, 1 << 20, 0, 2));
  uint64_t b = Must(heap->Allocate(t, 4 << 20, 0, 3));
  ASSERT_TRUE(heap->Free(t, a).ok());  // retained 5 MiB of the 6 allowed
  EXPECT_EQ(heap->Stats().free_retained_bytes, 1u << 20);
  ASSERT_TRUE(heap->Free(t, b).ok());  // 9 MiB > 6: oldest run released
  HeapStats st = heap->Stats();
  EXPECT_LE(st.in_use_span_bytes + st.free_retained_bytes, 6u << 20);
  (void)keep;
  ASSERT_TRUE(heap->Validate().ok()) << heap->Validate();
  heap->ReleaseFreeMemory();
  EXPECT_EQ(heap->Stats().free_retained_bytes, 0u);
}

TEST(HeapTest, ScavengerOffKeepsEverything) {
  auto heap = MakeHeap({"scavenger.policy=off"});
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t a = Must(heap->Allocate(t, 1 << 20, 0, 1));
  ASSERT_TRUE(heap->Free(t, a).ok());
  heap->Tick(1 << 30);
  EXPECT_EQ(heap->Stats().resident_bytes, 1u << 20);
}

}  // namespace
}  // namespace atr::alloc
