#include "allocator/page_heap.h"

#include <map>
#include <random>

#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

class PageHeapTest : public ::testing::TestWithParam<FitPolicy> {
 protected:
  static Config MakeConfig() {
    Config cfg;
    cfg.arena_size = 64 * 8192;  // small arenas: growth and coalescing show
    cfg.address_base = 64 * 8192 * 16;
    cfg.fit_policy = GetParam();
    return cfg;
  }
  Config cfg_ = MakeConfig();
  uint64_t clock_ = 0;
  AddressSpace space_{cfg_.address_base, cfg_.arena_size, cfg_.os_page_size};
  PageHeap ph_{cfg_, &space_, &clock_};
};

SpanId Must(absl::StatusOr<SpanId> s) {
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST_P(PageHeapTest, CarvesInAddressOrderAndCoalesces) {
  SpanId a = Must(ph_.Allocate(4, 1, SpanKind::kLarge));
  SpanId b = Must(ph_.Allocate(4, 1, SpanKind::kLarge));
  SpanId c = Must(ph_.Allocate(4, 1, SpanKind::kLarge));
  EXPECT_EQ(ph_.SpanAddress(ph_.span(a)), cfg_.address_base);
  EXPECT_EQ(ph_.SpanAddress(ph_.span(b)), cfg_.address_base + 4 * 8192);
  EXPECT_EQ(ph_.mapped_pages(), 64u);
  EXPECT_EQ(ph_.in_use_pages(), 12u);
  EXPECT_EQ(ph_.released_pages(), 52u);  // never used pages count as released
  EXPECT_EQ(ph_.Lookup(cfg_.address_base + 5 * 8192 + 7), b);
  ph_.Free(a);
  ph_.Free(c);  // merges with the tail run
  EXPECT_EQ(ph_.free_runs(), 2u);
  ph_.Free(b);  // merges all three
  EXPECT_EQ(ph_.free_runs(), 1u);
  EXPECT_EQ(ph_.free_pages(), 64u);
  EXPECT_EQ(ph_.Lookup(cfg_.address_base), kNoSpan);
  EXPECT_EQ(ph_.released_pages(), 52u);  // freed pages are retained
  ASSERT_TRUE(ph_.Validate().ok()) << ph_.Validate();
}

TEST_P(PageHeapTest, FitPolicyChoosesTheRun) {
  // Free runs of 6 pages (low) and 3 pages (higher), then ask for 3.
  SpanId a = Must(ph_.Allocate(6, 1, SpanKind::kLarge));
  Must(ph_.Allocate(1, 1, SpanKind::kLarge));
  SpanId c = Must(ph_.Allocate(3, 1, SpanKind::kLarge));
  Must(ph_.Allocate(1, 1, SpanKind::kLarge));
  ph_.Free(a);
  ph_.Free(c);
  SpanId d = Must(ph_.Allocate(3, 1, SpanKind::kLarge));
  uint64_t expected = GetParam() == FitPolicy::kFirstFit ? 0 : 7;
  EXPECT_EQ(ph_.span(d).start_page, expected);
  ASSERT_TRUE(ph_.Validate().ok()) << ph_.Validate();
}

TEST_P(PageHeapTest, AlignedAndHugeSpans) {
  Must(ph_.Allocate(1, 1, SpanKind::kLarge));
  SpanId a = Must(ph_.Allocate(2, 8, SpanKind::kLarge));
  EXPECT_EQ(ph_.span(a).start_page % 8, 0u);
  SpanId big = Must(ph_.Allocate(200, 1, SpanKind::kLarge));  // > one arena
  EXPECT_EQ(ph_.span(big).num_pages, 200u);
  EXPECT_GE(ph_.mapped_pages(), 201u);
  ASSERT_TRUE(ph_.Validate().ok()) << ph_.Validate();
  ph_.Free(big);
  ph_.Free(a);
  ASSERT_TRUE(ph_.Validate().ok()) << ph_.Validate();
}

TEST_P(PageHeapTest, ReleaseMarksPagesAndDropsResidency) {
  SpanId a = Must(ph_.Allocate(4, 1, SpanKind::kLarge));
  Must(ph_.Allocate(1, 1, SpanKind::kLarge));
  space_.Touch(ph_.SpanAddress(ph_.span(a)), 4 * 8192);
  EXPECT_EQ(space_.resident_bytes(), 4u * 8192);
  SpanId run = ph_.Free(a);
  EXPECT_EQ(ph_.free_pages() - ph_.released_pages(), 4u);
  EXPECT_EQ(ph_.Release(run), 4u);
  EXPECT_EQ(space_.resident_bytes(), 0u);
  EXPECT_EQ(ph_.free_pages(), ph_.released_pages());
  // Reusing released pages un-releases them.
  SpanId b = Must(ph_.Allocate(2, 1, SpanKind::kLarge));
  EXPECT_EQ(ph_.span(b).start_page, 0u);
  EXPECT_EQ(ph_.released_pages(), ph_.free_pages());
  ASSERT_TRUE(ph_.Validate().ok()) << ph_.Validate();
}

// Random allocate/free sequences: spans never overlap, the structure stays
// valid, and two runs give identical placements.
TEST_P(PageHeapTest, RandomSequencesAgainstReference) {
  auto run = [&](std::vector<uint64_t>* starts) {
    uint64_t clock = 0;
    AddressSpace space(cfg_.address_base, cfg_.arena_size, cfg_.os_page_size);
    PageHeap ph(cfg_, &space, &clock);
    std::mt19937_64 rng(42);
    std::map<uint64_t, uint64_t> ref;  // start page -> pages
    std::vector<SpanId> live;
    for (int step = 0; step < 20000; ++step) {
      ++clock;
      if (live.empty() || rng() % 100 < 55) {
        uint64_t pages = 1 + rng() % (rng() % 10 == 0 ? 100 : 8);
        uint64_t align = uint64_t{1} << (rng() % 8 == 0 ? rng() % 4 : 0);
        SpanId id = Must(ph.Allocate(pages, align, SpanKind::kLarge));
        const Span& s = ph.span(id);
        ASSERT_EQ(s.start_page % align, 0u);
        auto next = ref.lower_bound(s.start_page);
        ASSERT_TRUE(next == ref.end() || next->first >= s.start_page + pages);
        if (next != ref.begin()) {
          auto prev = std::prev(next);
          ASSERT_LE(prev->first + prev->second, s.start_page);
        }
        ref[s.start_page] = pages;
        live.push_back(id);
        starts->push_back(s.start_page);
      } else {
        size_t i = rng() % live.size();
        ref.erase(ph.span(live[i]).start_page);
        ph.Free(live[i]);
        live[i] = live.back();
        live.pop_back();
      }
      if (step % 997 == 0) {
        ASSERT_TRUE(ph.Validate().ok()) << ph.Validate();
      }
    }
    ASSERT_TRUE(ph.Validate().ok()) << ph.Validate();
  };
  std::vector<uint64_t> a, b;
  run(&a);
  run(&b);
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(Fit, PageHeapTest,
                         ::testing::Values(FitPolicy::kFirstFit,
                                           FitPolicy::kBestFit),
                         [](const auto& info) {
                           return info.param == FitPolicy::kFirstFit ? "first"
                                                                     : "best";
                         });

}  // namespace
}  // namespace atr::alloc
