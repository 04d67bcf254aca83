#include "allocator/size_classes.h"

#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

SizeClasses Make(std::vector<std::string> kv) {
  absl::StatusOr<Config> cfg = ParseConfig(kv);
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  absl::StatusOr<SizeClasses> sc = SizeClasses::Create(*cfg);
  EXPECT_TRUE(sc.ok()) << sc.status();
  return *sc;
}

TEST(SizeClassesTest, GoTable) {
  SizeClasses sc = Make({});
  ASSERT_EQ(sc.num_classes(), 68u);  // 67 classes + the reserved class 0
  EXPECT_EQ(sc.info(1).size, 8u);
  EXPECT_EQ(sc.info(1).capacity, 1024u);
  EXPECT_EQ(sc.info(3).size, 24u);
  EXPECT_EQ(sc.info(3).capacity, 341u);
  EXPECT_EQ(sc.info(35).size, 1408u);
  EXPECT_EQ(sc.info(35).pages, 2u);
  EXPECT_EQ(sc.info(52).size, 9472u);
  EXPECT_EQ(sc.info(52).pages, 7u);
  EXPECT_EQ(sc.info(52).capacity, 6u);
  EXPECT_EQ(sc.info(67).size, 32768u);
  EXPECT_EQ(sc.max_size(), 32768u);
  EXPECT_EQ(sc.info(1).batch, 32u);
  EXPECT_EQ(sc.info(67).batch, 2u);
}

TEST(SizeClassesTest, ClassForRoundsUpAndHonoursAlignment) {
  SizeClasses sc = Make({});
  EXPECT_EQ(sc.info(sc.ClassFor(0, 0)).size, 8u);
  EXPECT_EQ(sc.info(sc.ClassFor(1, 0)).size, 8u);
  EXPECT_EQ(sc.info(sc.ClassFor(100, 8)).size, 112u);
  EXPECT_EQ(sc.info(sc.ClassFor(17, 8)).size, 24u);
  EXPECT_EQ(sc.info(sc.ClassFor(17, 16)).size, 32u);  // 24 is only 8-aligned
  EXPECT_EQ(sc.info(sc.ClassFor(100, 64)).size, 128u);
  EXPECT_EQ(sc.info(sc.ClassFor(10, 4096)).size, 4096u);
  EXPECT_EQ(sc.ClassFor(10, 16384), 0u);  // above a page: large
  EXPECT_EQ(sc.ClassFor(32768, 8), 67u);
  EXPECT_EQ(sc.ClassFor(32769, 8), 0u);
}

void CheckTable(const SizeClasses& sc, uint64_t page) {
  for (uint32_t c = 1; c < sc.num_classes(); ++c) {
    const SizeClassInfo& i = sc.info(c);
    if (c > 1) {
      EXPECT_GT(i.size, sc.info(c - 1).size);
    }
    EXPECT_EQ(i.size % 8, 0u);
    EXPECT_GE(i.capacity, 1u);
    EXPECT_EQ(i.capacity, i.pages * page / i.size);
    EXPECT_EQ(i.align & (i.align - 1), 0u);
    // Every size maps to a class whose objects are large enough.
    EXPECT_EQ(sc.ClassFor(i.size, 8), c);
    if (c > 1) {
      EXPECT_EQ(sc.ClassFor(sc.info(c - 1).size + 1, 8), c);
    }
  }
}

TEST(SizeClassesTest, TcmallocLikeTableBoundsTailWaste) {
  SizeClasses sc = Make({"size_classes=tcmalloc"});
  CheckTable(sc, 8192);
  EXPECT_EQ(sc.max_size(), 256u << 10);
  for (uint32_t c = 1; c < sc.num_classes(); ++c) {
    const SizeClassInfo& i = sc.info(c);
    uint64_t span = uint64_t{i.pages} * 8192;
    EXPECT_LE((span % i.size) * 8, span) << "class " << c;
    EXPECT_GE(i.capacity, i.batch) << "class " << c;
  }
}

TEST(SizeClassesTest, GoTableUnderOtherPageSizes) {
  CheckTable(Make({"page_size=4096"}), 4096);
  CheckTable(Make({"page_size=65536"}), 65536);
  CheckTable(Make({}), 8192);
}

TEST(SizeClassesTest, CustomTable) {
  SizeClasses sc = Make({"size_classes=custom", "custom_classes=16,48:3,1000,5000"});
  ASSERT_EQ(sc.num_classes(), 5u);
  EXPECT_EQ(sc.info(2).pages, 3u);
  EXPECT_EQ(sc.info(2).capacity, 3u * 8192 / 48);
  EXPECT_EQ(sc.info(3).pages, 1u);  // 8192 % 1000 = 192 <= 12.5%
  EXPECT_EQ(sc.info(4).size, 5000u);
  EXPECT_LE((sc.info(4).pages * 8192 % 5000) * 8, sc.info(4).pages * 8192u);
  EXPECT_EQ(sc.ClassFor(5001, 8), 0u);
}

}  // namespace
}  // namespace atr::alloc
