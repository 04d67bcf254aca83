#include "recorder/collector/module_map.h"

#include <gtest/gtest.h>

namespace atr {
namespace {

TEST(ModuleMapTest, ResolvesPcsInsideModulesOnly) {
  ModuleMap map;
  map.Load({.id = 1, .bias = 0x1000, .lo = 0x1000, .hi = 0x2000});
  map.Load({.id = 2, .bias = 0x7000, .lo = 0x8000, .hi = 0x9000});
  EXPECT_EQ(map.Resolve(0x1000).module_id, 1);
  EXPECT_EQ(map.Resolve(0x1fff).rel_pc, 0xfffu);
  EXPECT_EQ(map.Resolve(0x2000).module_id, 0);
  EXPECT_EQ(map.Resolve(0x2000).rel_pc, 0x2000u);
  EXPECT_EQ(map.Resolve(0x8800).module_id, 2);
  EXPECT_EQ(map.Resolve(0x8800).rel_pc, 0x1800u);
  EXPECT_EQ(map.Resolve(0x10).module_id, 0);
}

TEST(ModuleMapTest, UnloadRemovesAndOverlapReplaces) {
  ModuleMap map;
  map.Load({.id = 1, .bias = 0, .lo = 0x1000, .hi = 0x3000});
  EXPECT_EQ(map.Unload(0x1000), 1);
  EXPECT_EQ(map.Unload(0x1000), 0);
  EXPECT_EQ(map.Resolve(0x1500).module_id, 0);
  map.Load({.id = 2, .bias = 0, .lo = 0x1000, .hi = 0x3000});
  map.Load({.id = 3, .bias = 0, .lo = 0x2000, .hi = 0x4000});  // mapped over 2
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.Resolve(0x1500).module_id, 0);
  EXPECT_EQ(map.Resolve(0x3500).module_id, 3);
}

}  // namespace
}  // namespace atr
