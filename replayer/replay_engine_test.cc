#include "replayer/replay_engine.h"

#include <sqlite3.h>

#include "gtest/gtest.h"
#include "replayer/replay_test_util.h"

namespace atr::replay {
namespace {

using atr::testing::TraceBuilder;

std::vector<Problem> Check(TraceReader& reader, bool leaks = false) {
  ReplayEngine engine(&reader, {.report_leaks = leaks}, nullptr);
  EXPECT_TRUE(engine.Run().ok());
  return engine.problems().problems();
}

TEST(ReplayEngineTest, CleanTraceHasNoProblems) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 24);
  t.Add(1, Op::kCalloc, 0x2000, 80, 10);
  t.Add(1, Op::kNew, 0x3000, 16);
  t.Add(1, Op::kNewArray, 0x4000, 64);
  t.Add(1, Op::kFree, 0x1000);
  t.Add(1, Op::kFree, 0x2000);
  t.Add(1, Op::kDeleteSized, 0x3000, 16);
  t.Add(1, Op::kDeleteArray, 0x4000);
  t.Add(1, Op::kFree, 0);  // free(NULL)
  TraceReader r = t.Open();
  EXPECT_TRUE(Check(r, true).empty());
}

TEST(ReplayEngineTest, DoubleFreeNamesAllocationAndFirstRelease) {
  TraceBuilder t;
  int64_t a = t.Add(1, Op::kMalloc, 0x1000, 64, 0, 0);
  int64_t f1 = t.Add(2, Op::kFree, 0x1000);
  int64_t f2 = t.Add(1, Op::kFree, 0x1000);
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, ProblemKind::kDoubleFree);
  EXPECT_EQ(p[0].offending.seq, f2);
  EXPECT_EQ(p[0].allocation.seq, a);
  EXPECT_EQ(p[0].allocation.size, 64u);
  EXPECT_EQ(p[0].first_release.seq, f1);
  EXPECT_EQ(p[0].first_release.tid, 2);
  EXPECT_EQ(p[0].addr, 0x1000u);
}

TEST(ReplayEngineTest, InvalidFreeAndRealloc) {
  TraceBuilder t;
  t.Add(1, Op::kFree, 0x5000);
  t.Add(1, Op::kReallocRelease, 0x6000);
  t.Add(1, Op::kRealloc, 0x7000, 32, 0x6000);
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].kind, ProblemKind::kInvalidFree);
  EXPECT_EQ(p[0].allocation.seq, 0);
  EXPECT_EQ(p[1].kind, ProblemKind::kInvalidRealloc);
  EXPECT_EQ(p[1].offending.seq, 2);
}

TEST(ReplayEngineTest, MismatchedFamilies) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 8);
  t.Add(1, Op::kDelete, 0x1000);     // malloc/delete
  t.Add(1, Op::kNew, 0x2000, 8);
  t.Add(1, Op::kFree, 0x2000);       // new/free
  t.Add(1, Op::kNewArray, 0x3000, 8);
  t.Add(1, Op::kDelete, 0x3000);     // new[]/delete
  t.Add(1, Op::kNew, 0x4000, 8);
  t.Add(1, Op::kDeleteArray, 0x4000);  // new/delete[]
  t.Add(1, Op::kNewAligned, 0x5000, 64, 64);
  t.Add(1, Op::kDelete, 0x5000);     // aligned new, plain delete
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r);
  ASSERT_EQ(p.size(), 5u);
  for (const Problem& x : p) EXPECT_EQ(x.kind, ProblemKind::kMismatchedFamily) << x.detail;
  EXPECT_EQ(p[1].detail, "allocated with new, released with free");
}

TEST(ReplayEngineTest, WrongSizedDelete) {
  TraceBuilder t;
  t.Add(1, Op::kNew, 0x1000, 32);
  t.Add(1, Op::kDeleteSized, 0x1000, 24);
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, ProblemKind::kWrongSizedDelete);
  EXPECT_EQ(p[0].detail, "delete size 24, allocated 32");
}

TEST(ReplayEngineTest, LeaksInAllocationOrder) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x2000, 10);
  t.Add(1, Op::kMalloc, 0x1000, 20);
  t.Add(1, Op::kMalloc, 0x3000, 30);
  t.Add(1, Op::kFree, 0x3000);
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r, true);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].kind, ProblemKind::kLeak);
  EXPECT_EQ(p[0].allocation.seq, 1);
  EXPECT_EQ(p[1].allocation.seq, 2);
}

TEST(ReplayEngineTest, ReallocSemantics) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 10);
  t.Add(1, Op::kReallocRelease, 0x1000);        // grows, moves
  t.Add(1, Op::kRealloc, 0x2000, 100, 0x1000);
  t.Add(1, Op::kReallocRelease, 0x2000);        // fails: old stays live
  t.Add(1, Op::kRealloc, 0, 1 << 30, 0x2000);
  t.Add(1, Op::kReallocRelease, 0x2000);        // shrinks in place
  t.Add(1, Op::kRealloc, 0x2000, 50, 0x2000);
  t.Add(1, Op::kReallocRelease, 0);             // realloc(NULL, n)
  t.Add(1, Op::kRealloc, 0x3000, 7, 0);
  t.Add(1, Op::kReallocRelease, 0x3000);        // realloc(p, 0) frees
  t.Add(1, Op::kRealloc, 0, 0, 0x3000);
  t.Add(1, Op::kFree, 0x2000);
  TraceReader r = t.Open();
  EXPECT_TRUE(Check(r, true).empty());
}

TEST(ReplayEngineTest, CrossThreadReuseDuringRealloc) {
  // Thread 1's realloc released p (seq 2); thread 2 got p from malloc
  // (seq 3) before thread 1's realloc returned q (seq 4): consistent.
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 10);
  t.Add(1, Op::kReallocRelease, 0x1000);
  t.Add(2, Op::kMalloc, 0x1000, 10);
  t.Add(1, Op::kRealloc, 0x2000, 100, 0x1000);
  t.Add(2, Op::kFree, 0x1000);
  t.Add(1, Op::kFree, 0x2000);
  TraceReader r = t.Open();
  EXPECT_TRUE(Check(r, true).empty());
}

TEST(ReplayEngineTest, AddressLiveTwiceIsAContradiction) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 10);
  int64_t again = t.Add(1, Op::kMalloc, 0x1000, 20);
  t.Add(1, Op::kFree, 0x1000);
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r, true);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, ProblemKind::kAddressLiveTwice);
  EXPECT_EQ(p[0].offending.seq, again);
  EXPECT_EQ(p[0].allocation.seq, 1);
}

TEST(ReplayEngineTest, DoubleMunmapIsReportedUnknownMunmapIsNot) {
  TraceBuilder t;
  t.Add(1, Op::kMmap, 0x7000'0000, 8192, kMapAnonymous);
  t.Add(1, Op::kMunmap, 0x7000'0000, 4096);
  t.Add(1, Op::kMunmap, 0x7000'1000, 4096);
  int64_t bad = t.Add(1, Op::kMunmap, 0x7000'0000, 8192);
  t.Add(1, Op::kMunmap, 0x6000'0000, 4096);  // never seen: mapped before recording
  TraceReader r = t.Open();
  std::vector<Problem> p = Check(r);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, ProblemKind::kBadMunmap);
  EXPECT_EQ(p[0].offending.seq, bad);
  EXPECT_EQ(p[0].first_release.seq, 2);
}

TEST(ReplayEngineTest, UnknownOpAndUnfinishedTraceAreReportedNotFatal) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 10);
  t.Add(1, Op::kMalloc, 0x2000, 10);
  t.Add(1, Op::kFree, 0x1000);
  {
    TraceReader r0 = t.Open(/*finish=*/false);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(t.path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE event_log SET op = 200 WHERE seq = 2", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto r = TraceReader::Open(t.path());
  ASSERT_TRUE(r.ok());
  ReplayEngine engine(&*r, {}, nullptr);
  ASSERT_TRUE(engine.Run().ok());
  const ProblemLog& log = engine.problems();
  EXPECT_EQ(log.count(ProblemKind::kUnknownOp), 1);
  EXPECT_EQ(log.count(ProblemKind::kUnfinishedTrace), 1);
  EXPECT_EQ(log.count(ProblemKind::kInvalidFree), 0);
  EXPECT_EQ(engine.events(), 3);
  EXPECT_EQ(log.problems()[0].offending.seq, 2);
}

TEST(ReplayEngineTest, ForkedChildInheritsBlocks) {
  TraceBuilder t;
  t.Add(1, Op::kMalloc, 0x1000, 10);
  t.Add(1, Op::kFork, 0, 0, 200);
  t.Add(200, Op::kProcessStart, 0, 0, 0, 0, 200);
  t.Add(200, Op::kFree, 0x1000, 0, 0, 0, 200);  // the child's copy
  t.Add(1, Op::kFree, 0x1000);
  TraceReader r = t.Open();
  EXPECT_TRUE(Check(r, true).empty());
}

// The stack model rides along a replay this way (`atr replay --stack-size`):
// every event once, in seq order, heap or not.
TEST(ReplayEngineTest, ObserverSeesEveryEventOnceInSeqOrder) {
  TraceBuilder t;
  int64_t a = t.Add(1, Op::kMalloc, 0x1000, 24);
  int64_t b = t.Add(2, Op::kFuncEnter, 0x400000, 0);
  int64_t c = t.Add(1, Op::kFree, 0x1000);
  TraceReader r = t.Open();
  std::vector<int64_t> seen;
  ReplayEngine engine(&r, {.on_event = [&seen](const EventRow& e) { seen.push_back(e.seq); }},
                      nullptr);
  ASSERT_TRUE(engine.Run().ok());
  EXPECT_EQ(seen, (std::vector<int64_t>{a, b, c}));
}

}  // namespace
}  // namespace atr::replay
