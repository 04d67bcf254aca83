#include "allocator/central_free_list.h"

#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

struct Fixture {
  explicit Fixture(SpanPolicy policy) {
    cfg.span_policy = policy;
    classes = std::make_unique<SizeClasses>(*SizeClasses::Create(cfg));
    cls = classes->ClassFor(1024, 8);  // 8 objects per span
  }
  Config cfg;
  uint64_t clock = 0;
  AddressSpace space{cfg.address_base, cfg.arena_size, cfg.os_page_size};
  PageHeap ph{cfg, &space, &clock};
  std::unique_ptr<SizeClasses> classes;
  uint32_t cls = 0;
};

TEST(CentralFreeListTest, CarvesSpansAndReturnsEmptyOnes) {
  Fixture f(SpanPolicy::kMostRecentlyUsed);
  CentralFreeList c(f.cls, f.classes->info(f.cls), f.cfg, &f.ph);
  ObjectRef objs[12];
  ASSERT_EQ(*c.RemoveRange(objs, 8), 8);  // exactly one span
  EXPECT_EQ(c.spans(), 1u);
  ASSERT_EQ(*c.RemoveRange(objs + 8, 4), 4);
  EXPECT_EQ(c.spans(), 2u);
  EXPECT_EQ(c.allocated_objects(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(c.state(objs[i]), kCachedSlot);
  EXPECT_EQ(objs[1].slot, 1u);  // carved in address order
  c.InsertRange(objs, 8);       // the first span empties: back to the page heap
  EXPECT_EQ(c.spans(), 1u);
  EXPECT_EQ(f.ph.in_use_pages(), 1u);
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  EXPECT_TRUE(f.ph.Validate().ok()) << f.ph.Validate();
}

// Two partly used spans, A (1 of 8 allocated) and B (7 of 8), B touched
// last... then A touched last. mru serves from the last touched span;
// fullest always from the fuller span B.
void TwoSpans(SpanPolicy policy, bool expect_from_fuller) {
  Fixture f(policy);
  CentralFreeList c(f.cls, f.classes->info(f.cls), f.cfg, &f.ph);
  ObjectRef a[8], b[8];
  ASSERT_EQ(*c.RemoveRange(a, 8), 8);
  ASSERT_EQ(*c.RemoveRange(b, 8), 8);
  c.InsertRange(b + 7, 1);  // B: 7 allocated
  c.InsertRange(a + 1, 7);  // A: 1 allocated, touched last
  ObjectRef next;
  ASSERT_EQ(*c.RemoveRange(&next, 1), 1);
  EXPECT_EQ(next.span, expect_from_fuller ? b[0].span : a[0].span);
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(CentralFreeListTest, MruServesTheLastTouchedSpan) {
  TwoSpans(SpanPolicy::kMostRecentlyUsed, false);
}

TEST(CentralFreeListTest, FullestServesTheFullestSpan) {
  TwoSpans(SpanPolicy::kFullest, true);
}

}  // namespace
}  // namespace atr::alloc
