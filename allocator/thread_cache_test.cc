#include "allocator/thread_cache.h"

#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

struct Fixture {
  explicit Fixture(std::vector<std::string> options) {
    cfg = *ParseConfig(options);
    classes = std::make_unique<SizeClasses>(*SizeClasses::Create(cfg));
    for (uint32_t c = 0; c < classes->num_classes(); ++c) {
      centrals.emplace_back(c, classes->info(c), cfg, &ph);
    }
  }
  Config cfg;
  uint64_t clock = 0;
  AddressSpace space{cfg.address_base, cfg.arena_size, cfg.os_page_size};
  PageHeap ph{cfg, &space, &clock};
  std::unique_ptr<SizeClasses> classes;
  std::vector<CentralFreeList> centrals;
};

TEST(ThreadCacheTest, RefillsInBatchesAndHandsOutWarmestFirst) {
  Fixture f({});
  ThreadCache tc(f.cfg, f.classes.get(), &f.centrals);
  uint32_t cls = f.classes->ClassFor(64, 8);
  ObjectRef first = *tc.Allocate(cls);
  EXPECT_EQ(first.slot, 0u);
  EXPECT_EQ(tc.length(cls), f.classes->info(cls).batch - 1);
  EXPECT_EQ(tc.transfers(), 1u);
  ObjectRef second = *tc.Allocate(cls);
  tc.Deallocate(cls, second);
  EXPECT_EQ(tc.Allocate(cls)->slot, second.slot);
  tc.Flush();
  EXPECT_EQ(tc.bytes(), 0u);
  EXPECT_EQ(f.centrals[cls].allocated_objects(), 2u);  // first and second
}

TEST(ThreadCacheTest, OverflowReturnsOldestBatch) {
  Fixture f({"thread_cache.max_objects=40"});
  ThreadCache tc(f.cfg, f.classes.get(), &f.centrals);
  uint32_t cls = f.classes->ClassFor(64, 8);
  std::vector<ObjectRef> objs;
  for (int i = 0; i < 41; ++i) objs.push_back(*tc.Allocate(cls));
  for (const ObjectRef& o : objs) {
    f.centrals[cls].state(o) = kCachedSlot;  // what Heap::Free does
    tc.Deallocate(cls, o);
    EXPECT_LE(tc.length(cls), 40u);
  }
  // 41 + leftovers exceeded 40: one batch of 32 went back.
  EXPECT_LE(tc.length(cls), 40u);
  EXPECT_GE(tc.transfers(), 3u);
  EXPECT_EQ(tc.bytes(), uint64_t{tc.length(cls)} * 64);
}

TEST(ThreadCacheTest, ByteCapacityBoundsTheCache) {
  Fixture f({"thread_cache.capacity_bytes=64k", "thread_cache.return=all"});
  ThreadCache tc(f.cfg, f.classes.get(), &f.centrals);
  for (uint64_t size : {1024, 4096, 16384, 32768}) {
    uint32_t cls = f.classes->ClassFor(size, 8);
    std::vector<ObjectRef> objs;
    for (int i = 0; i < 8; ++i) objs.push_back(*tc.Allocate(cls));
    for (const ObjectRef& o : objs) tc.Deallocate(cls, o);
    EXPECT_LE(tc.bytes(), 64u << 10);
  }
}

}  // namespace
}  // namespace atr::alloc
