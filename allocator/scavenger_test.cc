#include "allocator/scavenger.h"

#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

struct Fixture {
  explicit Fixture(std::vector<std::string> options) : cfg(*ParseConfig(options)) {}
  Config cfg;
  uint64_t clock = 0;
  AddressSpace space{cfg.address_base, cfg.arena_size, cfg.os_page_size};
  PageHeap ph{cfg, &space, &clock};
  Scavenger scav{cfg, &ph};

  SpanId TouchedSpan(uint64_t pages) {
    SpanId s = *ph.Allocate(pages, 1, SpanKind::kLarge);
    space.Touch(ph.SpanAddress(ph.span(s)), pages * cfg.page_size);
    return s;
  }
  uint64_t Retained() const { return ph.free_pages() - ph.released_pages(); }
};

TEST(ScavengerTest, IdleReleasesOldestRunsOnTheClock) {
  Fixture f({"scavenger.policy=idle", "scavenger.idle_events=10"});
  SpanId a = f.TouchedSpan(2);
  f.TouchedSpan(1);
  SpanId c = f.TouchedSpan(3);
  f.TouchedSpan(1);
  f.clock = 5;
  f.ph.Free(a);
  f.clock = 8;
  f.ph.Free(c);
  EXPECT_EQ(f.Retained(), 5u);
  f.scav.Advance(14);
  EXPECT_EQ(f.Retained(), 5u);
  f.scav.Advance(15);  // a has been free for 10 events
  EXPECT_EQ(f.Retained(), 3u);
  f.scav.Advance(18);
  EXPECT_EQ(f.Retained(), 0u);
  EXPECT_TRUE(f.ph.Validate().ok()) << f.ph.Validate();
}

TEST(ScavengerTest, StaleEntriesAreSkipped) {
  Fixture f({"scavenger.policy=idle", "scavenger.idle_events=10"});
  SpanId a = f.TouchedSpan(2);
  f.TouchedSpan(1);
  f.ph.Free(a);
  SpanId again = *f.ph.Allocate(2, 1, SpanKind::kLarge);  // reuses the run
  f.scav.Advance(100);
  EXPECT_EQ(f.ph.span(again).kind, SpanKind::kLarge);
  EXPECT_EQ(f.space.resident_bytes(), 3u * f.cfg.page_size);
  EXPECT_TRUE(f.ph.Validate().ok()) << f.ph.Validate();
}

TEST(ScavengerTest, TargetReleasesDownToTheLimit) {
  Fixture f({"scavenger.policy=target", "scavenger.target_percent=200"});
  f.TouchedSpan(4);  // stays in use
  SpanId b = f.TouchedSpan(2);
  f.TouchedSpan(1);
  SpanId d = f.TouchedSpan(4);
  f.TouchedSpan(1);
  f.ph.Free(b);  // in use 10, retained 12 <= 20
  EXPECT_EQ(f.Retained(), 2u);
  f.ph.Free(d);  // in use 6, retained 6 + 6 = 12: exactly at the limit
  EXPECT_EQ(f.Retained(), 6u);
  EXPECT_TRUE(f.ph.Validate().ok());
}

TEST(ScavengerTest, EagerAndOff) {
  Fixture eager({"scavenger.policy=eager"});
  eager.ph.Free(eager.TouchedSpan(3));
  EXPECT_EQ(eager.Retained(), 0u);
  EXPECT_EQ(eager.space.resident_bytes(), 0u);
  Fixture off({"scavenger.policy=off"});
  off.ph.Free(off.TouchedSpan(3));
  off.scav.Advance(1 << 30);
  EXPECT_EQ(off.Retained(), 3u);
}

}  // namespace
}  // namespace atr::alloc
