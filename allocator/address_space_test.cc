#include "allocator/address_space.h"

#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

TEST(AddressSpaceTest, MapsArenasBackToBack) {
  AddressSpace as(0xc000000000, 1 << 20, 4096);
  EXPECT_EQ(as.MapArenas(1), 0xc000000000u);
  EXPECT_EQ(as.MapArenas(2), 0xc000100000u);
  EXPECT_EQ(as.mapped_bytes(), 3u << 20);
  EXPECT_EQ(as.end(), 0xc000300000u);
  EXPECT_EQ(as.resident_bytes(), 0u);
}

TEST(AddressSpaceTest, TouchAndRelease) {
  AddressSpace as(0x100000, 1 << 20, 4096);
  uint64_t a = as.MapArenas(1);
  as.Touch(a + 10, 8);
  EXPECT_EQ(as.resident_bytes(), 4096u);
  as.Touch(a + 20, 8);  // same page
  EXPECT_EQ(as.resident_bytes(), 4096u);
  as.Touch(a + 4090, 10);  // straddles pages 0 and 1
  EXPECT_EQ(as.resident_bytes(), 8192u);
  as.Touch(a + 3 * 4096, 200 * 4096);
  EXPECT_EQ(as.resident_bytes(), 202u * 4096);
  EXPECT_TRUE(as.IsResident(a + 100 * 4096));
  EXPECT_FALSE(as.IsResident(a + 2 * 4096));
  EXPECT_EQ(as.ResidentBytesIn(a, 4 * 4096), 3u * 4096);
  EXPECT_EQ(as.Release(a + 4096, 10 * 4096), 9u * 4096);
  EXPECT_EQ(as.resident_bytes(), 193u * 4096);
  EXPECT_EQ(as.Release(a + 4096, 10 * 4096), 0u);
  EXPECT_FALSE(as.IsResident(a + 4096));
  EXPECT_TRUE(as.IsResident(a));
}

}  // namespace
}  // namespace atr::alloc
