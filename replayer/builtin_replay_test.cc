#include "replayer/builtin_replay.h"

#include <random>

#include "db/query.h"
#include "gtest/gtest.h"
#include "replayer/replay_store.h"
#include "replayer/replay_test_util.h"

namespace atr::replay {
namespace {

using atr::testing::TraceBuilder;

// A multi-threaded workload with cross-thread frees, reallocs and aligned
// allocations, from a fixed seed.
void RandomWorkload(TraceBuilder& t, int events, int threads, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<uint64_t, Op>> live;
  uint64_t next = 0x10000;
  for (int i = 0; i < events; ++i) {
    int32_t tid = 1 + static_cast<int32_t>(rng() % threads);
    uint64_t r = rng() % 100;
    if (live.empty() || r < 50) {
      uint64_t size = 8 + rng() % (r < 3 ? 100000 : 500);
      Op op = r % 4 == 0 ? Op::kNew : Op::kMalloc;
      if (r == 7) {
        t.Add(tid, Op::kAlignedAlloc, next, size, 256);
        op = Op::kMalloc;
      } else {
        t.Add(tid, op, next, size);
      }
      live.push_back({next, op});
      next += 0x100000;
    } else if (r < 55) {
      size_t k = rng() % live.size();
      t.Add(tid, Op::kReallocRelease, live[k].first);
      if (live[k].second == Op::kMalloc) {
        t.Add(tid, Op::kRealloc, next, 16 + rng() % 2000, live[k].first);
        live[k].first = next;
        next += 0x100000;
      } else {
        t.Add(tid, Op::kRealloc, live[k].first, 16, live[k].first);  // (a mismatch, reported)
      }
    } else {
      size_t k = rng() % live.size();
      t.Add(tid, live[k].second == Op::kNew ? Op::kDelete : Op::kFree, live[k].first);
      live[k] = live.back();
      live.pop_back();
    }
    if (i % 1000 == 999) t.Add(tid, Op::kThreadExit);
  }
}

struct Captured {
  ReplayRun run;
  std::vector<std::pair<int64_t, uint64_t>> addresses;
};

Captured Replay(TraceReader& r, BuiltinReplayOptions o = {}) {
  Captured c;
  o.on_allocate = [&](int64_t id, uint64_t a) { c.addresses.emplace_back(id, a); };
  auto run = RunBuiltinReplay(&r, o);
  EXPECT_TRUE(run.ok()) << run.status();
  c.run = *std::move(run);
  return c;
}

TEST(BuiltinReplayTest, DeterministicAcrossRunsMultiThreaded) {
  TraceBuilder t;
  RandomWorkload(t, 20000, 4, 7);
  TraceReader r = t.Open();
  Captured a = Replay(r), b = Replay(r);
  EXPECT_EQ(a.run.summary.digest, b.run.summary.digest);
  EXPECT_EQ(a.addresses, b.addresses);
  ASSERT_EQ(a.run.samples.size(), b.run.samples.size());
  EXPECT_GT(a.run.samples.size(), 10u);
  EXPECT_EQ(a.run.spans.size(), b.run.spans.size());
  EXPECT_GT(a.addresses.size(), 9000u);
  // Another configuration gives other addresses, hence another digest.
  BuiltinReplayOptions o;
  o.config = *alloc::ParseConfig({"size_classes=tcmalloc"});
  EXPECT_NE(Replay(r, o).run.summary.digest, a.run.summary.digest);
}

TEST(BuiltinReplayTest, ExactPeaksAndAlignment) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 100);
  t.Add(1, Op::kAlignedAlloc, 0x2000, 200, 4096);
  t.Add(2, Op::kPvalloc, 0x3000, 10);
  t.Add(1, Op::kFree, 0x1000);
  t.Add(2, Op::kCalloc, 0x4000, 50, 5);
  t.Add(1, Op::kFree, 0x2000);
  TraceReader r = t.Open();
  Captured c = Replay(r);
  const ReplaySummary& s = c.run.summary;
  EXPECT_EQ(s.peak_live_bytes, 310);  // pvalloc's size is recorded as asked
  EXPECT_EQ(s.peak_live_seq, 3);
  EXPECT_EQ(s.heap_ops, 6);
  EXPECT_EQ(s.final_live_bytes, 60);
  ASSERT_EQ(c.addresses.size(), 4u);
  EXPECT_EQ(c.addresses[1].second % 4096, 0u);
  EXPECT_EQ(c.addresses[2].second % 4096, 0u);
  EXPECT_EQ(s.outcome, "complete");
  EXPECT_GE(s.peak_resident_bytes, s.peak_live_bytes);
}

TEST(BuiltinReplayTest, SpanSnapshotNamesThePinningAllocations) {
  TraceBuilder t;
  std::vector<int64_t> ids;
  for (int i = 0; i < 400; ++i) ids.push_back(t.Add(1, Op::kMalloc, 0x1000 + i * 64, 48));
  for (int i = 0; i < 400; ++i) {
    if (i % 50 != 0) t.Add(1, Op::kFree, 0x1000 + i * 64);
  }
  TraceReader r = t.Open();
  BuiltinReplayOptions o;
  o.config = *alloc::ParseConfig({"thread_cache.capacity_bytes=0"});
  Captured c = Replay(r, o);
  EXPECT_EQ(c.run.snapshot_seq, c.run.summary.peak_resident_seq);
  // At the resident peak (the last allocation) every span is full but the
  // last one; its live ids are allocations made by this trace.
  int64_t pinned = 0;
  for (const SpanSnapshot& sp : c.run.spans) {
    EXPECT_LT(sp.allocation_ids.size(), sp.capacity);
    for (int64_t id : sp.allocation_ids) {
      EXPECT_GE(id, 1);
      EXPECT_LE(id, 400);
      ++pinned;
    }
  }
  EXPECT_LE(pinned, 400);
}

TEST(BuiltinReplayTest, UntilStopsAtTheEvent) {
  TraceBuilder t;
  RandomWorkload(t, 2000, 2, 3);
  TraceReader r = t.Open();
  BuiltinReplayOptions o;
  o.until_seq = 500;
  Captured c = Replay(r, o);
  EXPECT_EQ(c.run.summary.last_seq, 500);
  EXPECT_EQ(c.run.summary.outcome, "until");
  EXPECT_EQ(c.run.problems.count(ProblemKind::kLeak), 0);
}

TEST(BuiltinReplayTest, ResultsAreStoredInTheTrace) {
  TraceBuilder t;
  RandomWorkload(t, 3000, 2, 5);
  TraceReader r = t.Open();
  Captured c = Replay(r);
  auto id = StoreReplay(t.path(), c.run);
  ASSERT_TRUE(id.ok()) << id.status();
  auto id2 = StoreReplay(t.path(), c.run);
  ASSERT_TRUE(id2.ok());
  EXPECT_EQ(*id2, *id + 1);
  auto r2 = TraceReader::Open(t.path());
  ASSERT_TRUE(r2.ok());
  auto q = QueryCursor::Run(*r2,
                            "SELECT allocator, digest, (SELECT count(*) FROM replay_samples WHERE "
                            "replay_id = r.id), (SELECT count(*) FROM replay_blame WHERE replay_id "
                            "= r.id), peak_live_bytes FROM replays r WHERE id = " +
                                std::to_string(*id));
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->Text(0), "builtin");
  EXPECT_EQ(q->Text(1), c.run.summary.digest);
  EXPECT_EQ(q->Int(2), static_cast<int64_t>(c.run.samples.size()));
  int64_t blame = 0;
  for (const SpanSnapshot& sp : c.run.spans) blame += static_cast<int64_t>(sp.allocation_ids.size());
  EXPECT_EQ(q->Int(3), blame);
  EXPECT_EQ(q->Int(4), c.run.summary.peak_live_bytes);
}

}  // namespace
}  // namespace atr::replay
