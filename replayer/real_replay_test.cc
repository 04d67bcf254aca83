#include "replayer/real_replay.h"

#include "gtest/gtest.h"
#include "replayer/replay_test_util.h"
#include "tests/support/require_dependency.h"

namespace atr::replay {
namespace {

using atr::testing::TraceBuilder;

void Workload(TraceBuilder& t) {
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 100; ++i) {
      int32_t tid = 1 + (i % 2);
      uint64_t a = 0x100000 + (round * 100 + i) * 0x1000;
      t.Add(tid, i % 3 == 0 ? Op::kCalloc : Op::kMalloc, a, 1000 + i * 10);
    }
    for (int i = 0; i < 100; i += 2) {
      uint64_t a = 0x100000 + (round * 100 + i) * 0x1000;
      t.Add(2, Op::kReallocRelease, a);
      t.Add(2, Op::kRealloc, a + 8, 3000, a);
      t.Add(1, Op::kFree, a + 8);
    }
  }
  t.Add(1, Op::kPosixMemalign, 0x9000000, 100, 4096);
  t.Add(1, Op::kFree, 0x9000000);
}

TEST(RealReplayTest, SystemAllocatorSingleThread) {
  TraceBuilder t;
  Workload(t);
  TraceReader r = t.Open();
  RealReplayOptions o;
  o.allocator = "system";
  o.sample_every = 500;
  auto run = RunRealReplay(&r, o);
  ASSERT_TRUE(run.ok()) << run.status();
  const ReplaySummary& s = run->summary;
  EXPECT_EQ(s.allocator, "system");
  EXPECT_EQ(s.threads, "single");
  EXPECT_GT(run->samples.size(), 5u);
  EXPECT_GT(s.peak_live_bytes, 2'000'000);
  EXPECT_GT(s.peak_resident_bytes, 0);
  EXPECT_GT(s.allocator_ns, 0);
  EXPECT_EQ(run->samples.back().kind, SampleKind::kFinal);
  EXPECT_EQ(run->samples.back().live_objects, 2500);
  EXPECT_GE(run->samples.back().allocated_bytes, run->samples.back().live_bytes);  // mallinfo2
}

TEST(RealReplayTest, RealThreadsAndJemalloc) {
  auto je = ResolveAllocator("jemalloc");
  ATR_REQUIRE_DEPENDENCY(je.ok(), je.status().ToString());
  TraceBuilder t;
  Workload(t);
  TraceReader r = t.Open();
  RealReplayOptions o;
  o.allocator = "jemalloc";
  o.real_threads = true;
  auto run = RunRealReplay(&r, o);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->summary.threads, "real");
  EXPECT_NE(run->summary.config.find("stats=jemalloc"), std::string::npos)
      << run->summary.config;
  EXPECT_EQ(run->samples.back().live_objects, 2500);
}

TEST(RealReplayTest, UnknownAllocatorsAreClearErrors) {
  auto a = ResolveAllocator("/nonexistent/libfoo.so");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  auto b = ResolveAllocator("hoard");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(b.status().message()).find("jemalloc"), std::string::npos);
  auto s = ResolveAllocator("system");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->library.empty());
}

}  // namespace
}  // namespace atr::replay
