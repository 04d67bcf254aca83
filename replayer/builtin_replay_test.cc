#include "replayer/builtin_replay.h"

#include <map>
#include <random>

#include "db/query.h"
#include "db/sqlite.h"
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


TEST(BuiltinReplayTest, StoreRecordsTheCounterfactual) {
  TraceBuilder t;
  RandomWorkload(t, 500, 1, 9);
  TraceReader r = t.Open();
  Captured c = Replay(r);
  ASSERT_TRUE(StoreReplay(t.path(), c.run).ok());
  {  // a replays table from before the column
    auto db = db_internal::SqlDatabase::Open(t.path(), SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(db->Exec("ALTER TABLE replays DROP COLUMN counterfactual", "test").ok());
  }
  auto id = StoreReplay(t.path(), c.run, "segregate keep_session");
  ASSERT_TRUE(id.ok()) << id.status();
  auto r2 = TraceReader::Open(t.path());
  ASSERT_TRUE(r2.ok());
  auto q = QueryCursor::Run(*r2, "SELECT id, counterfactual FROM replays ORDER BY id");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Next());
  EXPECT_TRUE(q->IsNull(1));
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->Int(0), *id);
  EXPECT_EQ(q->Text(1), "segregate keep_session");
}

// The example's pattern (examples/session_server.cc): short-lived tokens
// (stack 1) and a few long-lived sessions (stack 2) share a size class;
// then rows of another class (stack 3) are allocated while the sessions pin
// the token spans.
void SessionPattern(TraceBuilder& t) {
  constexpr int kTokens = 16000;
  uint64_t next = 0x100000;
  std::vector<uint64_t> tokens;
  for (int i = 0; i < kTokens; ++i) {
    tokens.push_back(next);
    t.Add(1, Op::kNew, next, 48, 0, /*stack=*/1);
    next += 64;
    if (i % 16 == 0) {
      t.Add(1, Op::kNew, next, 48, 0, /*stack=*/2);
      next += 64;
    }
  }
  for (uint64_t a : tokens) t.Add(1, Op::kDelete, a, 0, 0, 1);
  std::vector<uint64_t> rows;
  for (int i = 0; i < kTokens; ++i) {
    rows.push_back(next);
    t.Add(1, Op::kNew, next, 64, 0, /*stack=*/3);
    next += 64;
  }
  for (uint64_t a : rows) t.Add(1, Op::kDelete, a, 0, 0, 3);
}

TEST(BuiltinReplayTest, SegregationRoutesTheSitesStacksToASecondHeap) {
  TraceBuilder t;
  SessionPattern(t);
  TraceReader r = t.Open();
  BuiltinReplayOptions o;
  o.segregate_stacks = {2};
  Captured c = Replay(r, o);
  ASSERT_EQ(c.addresses.size(), 16000u + 1000u + 16000u);
  std::map<uint64_t, int64_t> stack_of_seq;
  for (const EventRow& e : t.events()) stack_of_seq[static_cast<uint64_t>(e.seq)] = e.stack;
  for (const auto& [id, handle] : c.addresses) {
    EXPECT_EQ((handle & kSegregatedHandle) != 0, stack_of_seq[static_cast<uint64_t>(id)] == 2)
        << id;
  }
  // Every free found its heap: no model errors, and what is left live are
  // exactly the sessions.
  EXPECT_EQ(c.run.problems.count(ProblemKind::kModelError), 0);
  EXPECT_EQ(c.run.summary.final_live_bytes, 1000 * 48);
  EXPECT_EQ(c.run.summary.heap_ops, 2 * 16000 + 1000 + 2 * 16000);
  // The sessions no longer pin the token spans: the rows reuse their pages.
  Captured base = Replay(r);
  EXPECT_EQ(base.run.summary.peak_live_bytes, c.run.summary.peak_live_bytes);
  EXPECT_LT(c.run.summary.peak_resident_bytes, base.run.summary.peak_resident_bytes * 3 / 4)
      << base.run.summary.peak_resident_bytes;
  EXPECT_NE(c.run.summary.digest, base.run.summary.digest);
  // Spans of both heaps are snapshotted; the second heap's are tagged so
  // the replay stores without key collisions.
  bool tagged = false;
  for (const SpanSnapshot& sp : c.run.spans) tagged |= (sp.address & kSegregatedHandle) != 0;
  EXPECT_TRUE(tagged);
  auto id = StoreReplay(t.path(), c.run);
  EXPECT_TRUE(id.ok()) << id.status();
}

TEST(BuiltinReplayTest, SegregationIsDeterministic) {
  TraceBuilder t;
  RandomWorkload(t, 5000, 3, 11);
  BuiltinReplayOptions o;
  for (EventRow& e : t.events()) {
    e.stack = e.seq;  // one stack per event; a third of them segregated
    if (e.seq % 3 == 0) o.segregate_stacks.insert(e.seq);
  }
  TraceReader r = t.Open();
  Captured a = Replay(r, o), b = Replay(r, o);
  EXPECT_EQ(a.run.summary.digest, b.run.summary.digest);
  EXPECT_EQ(a.addresses, b.addresses);
  EXPECT_EQ(a.run.problems.count(ProblemKind::kModelError), 0);
  int segregated = 0;
  for (const auto& [id, handle] : a.addresses) segregated += (handle & kSegregatedHandle) != 0;
  EXPECT_GT(segregated, 0);
}

TEST(BuiltinReplayTest, DropSkipsTheSitesBlocksAndTheirFrees) {
  TraceBuilder t;
  SessionPattern(t);
  TraceReader r = t.Open();
  Captured base = Replay(r);
  BuiltinReplayOptions o;
  o.drop_stacks = {3};  // the rows
  Captured c = Replay(r, o);
  EXPECT_EQ(c.run.problems.count(ProblemKind::kModelError), 0);
  // The live peak moves from the report phase to the end of the serving phase.
  EXPECT_EQ(base.run.summary.peak_live_bytes, 16000 * 64 + 1000 * 48);
  EXPECT_EQ(c.run.summary.peak_live_bytes, 16000 * 48 + 1000 * 48);
  EXPECT_EQ(c.run.summary.final_live_bytes, 1000 * 48);
  EXPECT_LT(c.run.summary.peak_resident_bytes, base.run.summary.peak_resident_bytes);
  int dropped = 0;
  for (const auto& [id, handle] : c.addresses) dropped += (handle & kDroppedHandle) != 0;
  EXPECT_EQ(dropped, 16000);
  for (const ReplaySample& s : c.run.samples) EXPECT_GE(s.resident_bytes, s.live_bytes);
}

}  // namespace
}  // namespace atr::replay
