#include "db/allocations.h"

#include <sqlite3.h>

#include <random>
#include <sstream>

#include "db/db_test_util.h"
#include "db/event_log_sql.h"
#include "db/query.h"
#include "db/sqlite.h"
#include "db/trace_reader.h"
#include "db/trace_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::FreshPath;

constexpr uint64_t A = 0x5555'0000'1000;
constexpr uint64_t B = 0x5555'0000'2000;
constexpr uint64_t C = 0x5555'0000'3000;

// One event of a script; seq is its position (1-based).
struct Step {
  Op op;
  uint64_t addr = 0;
  uint64_t size = 0;
  int32_t tid = 1;
  int32_t pid = 1;
  uint64_t arg = 0;
  int64_t stack = 0;
};

// (alloc_seq, free_seq or -1 when never released): compact expectations.
using Pair = std::pair<int64_t, int64_t>;

struct Result {
  std::string path;
  AllocationStats stats;
  std::vector<Pair> pairs;
  std::vector<AllocationRow> rows;
};

// The rows of `sql` as text, one string per row, so two queries compare
// with one EXPECT.
std::vector<std::string> Rows(const TraceReader& r, const std::string& sql) {
  std::vector<std::string> out;
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(r, sql);
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok()) return out;
  while (q->Next()) {
    std::string row;
    for (int c = 0; c < q->columns(); ++c) row += (q->IsNull(c) ? "NULL" : q->Text(c)) + " ";
    out.push_back(row);
  }
  EXPECT_TRUE(q->status().ok()) << q->status();
  return out;
}

// stack_stats holds, per stack, what the reports' former query over the
// pairs computes (peak_bytes: the pairs live at alloc_peak_live_seq).
void ExpectStackStatsMatchPairs(const TraceReader& r) {
  const std::string columns =
      "SELECT stack, calls, bytes, peak_bytes, leaked, leaked_bytes, first_leak_seq FROM ";
  EXPECT_EQ(Rows(r, columns + "stack_stats ORDER BY stack"),
            Rows(r, columns + StackStatsFromPairsSql(r.MetaInt("alloc_peak_live_seq").value_or(0)) +
                        " ORDER BY stack"));
}

Result RunPass(const std::vector<Step>& steps, std::vector<ProcessRow> processes = {}) {
  std::string path = FreshPath("alloc.db");
  Result out;
  out.path = path;
  {
    auto w = TraceWriter::Create(path);
    EXPECT_TRUE(w.ok()) << w.status();
    for (const ProcessRow& p : processes) EXPECT_TRUE((*w)->PutProcess(p).ok());
    int64_t seq = 0;
    for (const Step& s : steps) {
      ++seq;
      EXPECT_TRUE((*w)->AddEvent({.seq = seq, .ts_ns = seq, .pid = s.pid, .tid = s.tid, .op = s.op,
                                  .addr = s.addr, .size = s.size, .arg = s.arg, .stack = s.stack})
                      .ok());
    }
    absl::StatusOr<AllocationStats> stats = (*w)->Finish();
    EXPECT_TRUE(stats.ok()) << stats.status();
    out.stats = *stats;
  }
  // Re-running the pass alone (atr import path) gives the same answer as
  // the writer's online pass, in every table it fills.
  auto tables = [&path] {
    absl::StatusOr<TraceReader> r = TraceReader::Open(path);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> rows;
    if (!r.ok()) return rows;
    for (const char* sql : {"SELECT * FROM allocations ORDER BY id",
                            "SELECT * FROM op_stats ORDER BY op",
                            "SELECT * FROM stack_stats ORDER BY stack",
                            "SELECT * FROM meta WHERE key LIKE 'alloc_%' ORDER BY key"}) {
      for (std::string& row : Rows(*r, sql)) rows.push_back(std::move(row));
    }
    return rows;
  };
  const std::vector<std::string> online = tables();
  absl::StatusOr<AllocationStats> again = BuildAllocations(path);
  EXPECT_TRUE(again.ok()) << again.status();
  if (again.ok()) {
    EXPECT_EQ(*again, out.stats);
  }
  EXPECT_EQ(tables(), online);

  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  absl::StatusOr<AllocationCursor> c = r->Allocations();
  EXPECT_TRUE(c.ok());
  AllocationRow a;
  while (c->Next(&a)) {
    out.rows.push_back(a);
    out.pairs.emplace_back(a.alloc_seq, a.free_seq.value_or(-1));
  }
  EXPECT_TRUE(c->status().ok()) << c->status();
  ExpectStackStatsMatchPairs(*r);
  return out;
}

TEST(BuildAllocations, PairsMallocAndNewFamilies) {
  Result r = RunPass({
      {Op::kMalloc, A, 10},        // 1
      {Op::kNew, B, 20},           // 2
      {Op::kFree, A},              // 3
      {Op::kDeleteSized, B, 20},   // 4
      {Op::kCalloc, C, 30, 1, 1, 3},  // 5, never freed
      {Op::kFree, 0},              // 6 free(NULL): nothing
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 3}, Pair{2, 4}, Pair{5, -1}));
  EXPECT_EQ(r.stats.allocations, 3);
  EXPECT_EQ(r.stats.releases, 2);
  EXPECT_EQ(r.stats.leaked, 1);
  EXPECT_EQ(r.stats.unmatched_releases, 0);
  EXPECT_EQ(r.rows[1].free_op, Op::kDeleteSized);
  EXPECT_EQ(r.rows[2].op, Op::kCalloc);
}

TEST(BuildAllocations, ReallocGrowMoves) {
  Result r = RunPass({
      {Op::kMalloc, A, 10},                    // 1
      {Op::kReallocRelease, A},                // 2
      {Op::kRealloc, B, 100, 1, 1, A},         // 3
      {Op::kFree, B},                          // 4
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 2}, Pair{3, 4}));
  EXPECT_EQ(r.rows[0].free_op, Op::kReallocRelease);
  EXPECT_EQ(r.stats.releases, 2);
  EXPECT_EQ(r.stats.peak_live_bytes, 100u);
  EXPECT_EQ(r.stats.peak_live_seq, 3);
}

TEST(BuildAllocations, ReallocShrinkInPlace) {
  Result r = RunPass({
      {Op::kMalloc, A, 100},                   // 1
      {Op::kReallocRelease, A},                // 2
      {Op::kRealloc, A, 10, 1, 1, A},          // 3 same address
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 2}, Pair{3, -1}));
  EXPECT_EQ(r.rows[1].size, 10u);
  EXPECT_EQ(r.stats.peak_live_bytes, 100u);
  EXPECT_EQ(r.stats.peak_live_seq, 1);
}

TEST(BuildAllocations, FailedReallocKeepsOldBlockLive) {
  Result r = RunPass({
      {Op::kMalloc, A, 10},                    // 1
      {Op::kReallocRelease, A},                // 2
      {Op::kMalloc, B, 5, /*tid=*/2},          // 3 another thread in between
      {Op::kRealloc, 0, 1 << 30, 1, 1, A},     // 4 failed: ENOMEM
      {Op::kFree, A},                          // 5 the old block is freed here
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 5}, Pair{3, -1}));
  EXPECT_EQ(r.stats.failed_reallocs, 1);
  EXPECT_EQ(r.stats.unmatched_releases, 0);
  EXPECT_EQ(r.rows[0].free_op, Op::kFree);
}

TEST(BuildAllocations, ReallocOfNullIsAMalloc) {
  Result r = RunPass({
      {Op::kReallocRelease, 0},                // 1 realloc(NULL, 50)
      {Op::kRealloc, A, 50},                   // 2
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{2, -1}));
  EXPECT_EQ(r.stats.unmatched_releases, 0);
  EXPECT_EQ(r.stats.failed_reallocs, 0);
}

TEST(BuildAllocations, ReallocToZeroFrees) {
  Result r = RunPass({
      {Op::kMalloc, A, 10},                    // 1
      {Op::kReallocRelease, A},                // 2 realloc(A, 0)
      {Op::kRealloc, 0, 0, 1, 1, A},           // 3 returns NULL: A freed
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 2}));
  EXPECT_EQ(r.stats.failed_reallocs, 0);
  EXPECT_EQ(r.stats.failed_acquisitions, 0);
  EXPECT_EQ(r.stats.leaked, 0);
}

// Another thread is handed the old address between the two halves of a
// moving realloc: it owns a new block, the realloc closed the old one.
TEST(BuildAllocations, AddressReusedBetweenReallocHalves) {
  Result r = RunPass({
      {Op::kMalloc, A, 10, 1},                 // 1
      {Op::kReallocRelease, A, 0, 1},          // 2
      {Op::kMalloc, A, 16, 2},                 // 3 thread 2 gets A
      {Op::kRealloc, B, 100, 1, 1, A},         // 4 realloc moved to B
      {Op::kFree, A, 0, 2},                    // 5
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 2}, Pair{3, 5}, Pair{4, -1}));
  EXPECT_EQ(r.stats.reacquired_live, 0);
  EXPECT_EQ(r.stats.unmatched_releases, 0);
}

TEST(BuildAllocations, DoubleFreeAndUnknownFreeAreCounted) {
  Result r = RunPass({
      {Op::kMalloc, A, 10},                    // 1
      {Op::kFree, A},                          // 2
      {Op::kFree, A},                          // 3 double free
      {Op::kDelete, C},                        // 4 never allocated
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 2}));
  EXPECT_EQ(r.stats.unmatched_releases, 2);
  EXPECT_EQ(r.stats.releases, 1);
}

TEST(BuildAllocations, FailedMallocIsNotAnAllocation) {
  Result r = RunPass({{Op::kMalloc, 0, 1ull << 40}, {Op::kPosixMemalign, 0, 8, 1, 1, 3}});
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_EQ(r.stats.failed_acquisitions, 2);
}

TEST(BuildAllocations, ProcessesAreSeparateHeaps) {
  Result r = RunPass({
      {Op::kMalloc, A, 10, 1, 1},              // 1 pid 1
      {Op::kMalloc, A, 20, 2, 2},              // 2 pid 2, same address
      {Op::kFree, A, 0, 1, 1},                 // 3
      {Op::kFree, A, 0, 2, 2},                 // 4
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 3}, Pair{2, 4}));
  EXPECT_EQ(r.rows[1].pid, 2);
  EXPECT_EQ(r.stats.peak_live_bytes, 30u);
}

TEST(BuildAllocations, ForkedChildFreeingParentBlockIsInherited) {
  Result r = RunPass(
      {
          {Op::kMalloc, A, 10, 1, 1},          // 1 parent
          {Op::kFork, 0, 0, 1, 1, 2},          // 2
          {Op::kProcessStart, 0, 0, 2, 2},     // 3 child
          {Op::kFree, A, 0, 2, 2},             // 4 child frees its copy
          {Op::kFree, A, 0, 1, 1},             // 5 parent frees its own
      },
      {{.pid = 1, .ppid = 0}, {.pid = 2, .ppid = 1}});
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, 5}));
  EXPECT_EQ(r.stats.inherited_releases, 1);
  EXPECT_EQ(r.stats.unmatched_releases, 0);
}

TEST(BuildAllocations, ExecEndsThePreviousImage) {
  Result r = RunPass({
      {Op::kMalloc, A, 10},                    // 1 image 0
      {Op::kExec},                             // 2
      {Op::kProcessStart},                     // 3 image 1
      {Op::kMalloc, A, 20},                    // 4
      {Op::kFree, A},                          // 5
  });
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, -1}, Pair{4, 5}));
  EXPECT_EQ(r.stats.reacquired_live, 0);
  EXPECT_EQ(r.stats.leaked, 1);
}

TEST(BuildAllocations, MmapIsNotPaired) {
  Result r = RunPass({{Op::kMmap, A, 4096}, {Op::kMunmap, A, 4096}});
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_EQ(r.stats.unmatched_releases, 0);
}

TEST(BuildAllocations, ReallocInterruptedByDeathLeavesBlockLive) {
  Result r = RunPass({{Op::kMalloc, A, 10}, {Op::kReallocRelease, A}});
  EXPECT_THAT(r.pairs, ::testing::ElementsAre(Pair{1, -1}));
}

TEST(BuildAllocations, AlignmentComesFromArgOfAlignedOps) {
  Result r = RunPass({{Op::kPosixMemalign, A, 100, 1, 1, 64}, {Op::kMalloc, B, 8, 1, 1, 0},
                  {Op::kCalloc, C, 8, 1, 1, 2}});
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].align, 64u);
  EXPECT_EQ(r.rows[1].align, 0u);
  EXPECT_EQ(r.rows[2].align, 0u);  // calloc's arg is nmemb, not alignment
}

// Rows written before their release was known (a Flush() after every
// event, as the collector's checkpoints do) keep the release in late_frees;
// the online pass, and the pass over a trace whose writer died, pair as a
// pass that saw every release in time.
TEST(BuildAllocations, ReleasesOfRowsAlreadyWrittenGoToLateFrees) {
  std::vector<Step> steps = {{Op::kMalloc, A, 1}};  // 1, freed last
  for (uint64_t i = 0; i < 40; ++i) {
    steps.push_back({Op::kMalloc, B + 64 * i, 8});
    if (i % 3 != 0) steps.push_back({Op::kFree, B + 64 * i});
  }
  steps.push_back({Op::kFree, A});
  Result in_time = RunPass(steps);
  ASSERT_EQ(in_time.pairs.front(), Pair(1, static_cast<int64_t>(steps.size())));
  auto write = [&](const std::string& path, bool finish) {
    auto w = TraceWriter::Create(path);
    ASSERT_TRUE(w.ok());
    int64_t seq = 0;
    for (const Step& s : steps) {
      ++seq;
      ASSERT_TRUE((*w)->AddEvent({.seq = seq, .pid = 1, .tid = 1, .op = s.op, .addr = s.addr,
                                  .size = s.size}).ok());
      ASSERT_TRUE((*w)->Flush().ok());
    }
    if (finish) {
      absl::StatusOr<AllocationStats> stats = (*w)->Finish();
      ASSERT_TRUE(stats.ok()) << stats.status();
      EXPECT_EQ(*stats, in_time.stats);
    }
  };
  auto pairs_of = [](const std::string& path) {
    std::vector<Pair> pairs;
    absl::StatusOr<TraceReader> r = TraceReader::Open(path);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return pairs;
    EXPECT_GT(r->MetaInt("alloc_allocations").value_or(0), 0);
    EXPECT_THAT(Rows(*r, "SELECT count(*) FROM late_frees"), ::testing::Not(::testing::ElementsAre("0 ")));
    absl::StatusOr<AllocationCursor> c = r->Allocations();
    EXPECT_TRUE(c.ok());
    AllocationRow a;
    while (c->Next(&a)) pairs.emplace_back(a.alloc_seq, a.free_seq.value_or(-1));
    return pairs;
  };
  std::string finished = FreshPath("late.db");
  write(finished, /*finish=*/true);
  EXPECT_EQ(pairs_of(finished), in_time.pairs);

  std::string unfinished = FreshPath("dead.db");
  write(unfinished, /*finish=*/false);
  absl::StatusOr<AllocationStats> again = BuildAllocations(unfinished);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, in_time.stats);
  EXPECT_EQ(pairs_of(unfinished), in_time.pairs);
}

TEST(BuildAllocations, StackStatsSumPerStack) {
  Result r = RunPass({
      {.op = Op::kMalloc, .addr = A, .size = 10, .stack = 7},   // 1
      {.op = Op::kMalloc, .addr = B, .size = 20, .stack = 7},   // 2
      {.op = Op::kMalloc, .addr = C, .size = 40, .stack = 9},   // 3 peak: 70
      {.op = Op::kFree, .addr = A},                             // 4
      {.op = Op::kFree, .addr = C},                             // 5
  });
  ASSERT_EQ(r.stats.peak_live_seq, 3);
  absl::StatusOr<TraceReader> reader = TraceReader::Open(r.path);
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT(Rows(*reader, "SELECT * FROM stack_stats ORDER BY stack"),
              ::testing::ElementsAre("7 2 30 30 1 20 2 ", "9 1 40 40 0 0 NULL "));
}

// A realloc whose release came before the peak fails after the stack
// changed again: the block was live at the peak all along.
TEST(BuildAllocations, StackStatsPeakKeepsBlockOfFailedRealloc) {
  Result r = RunPass({
      {.op = Op::kMalloc, .addr = A, .size = 100, .tid = 1, .stack = 1},  // 1
      {.op = Op::kMalloc, .addr = C, .size = 5, .tid = 2, .stack = 1},    // 2
      {.op = Op::kReallocRelease, .addr = A, .tid = 1},                   // 3
      {.op = Op::kMalloc, .addr = B, .size = 200, .tid = 2, .stack = 2},  // 4 peak
      {.op = Op::kFree, .addr = C, .tid = 2},                             // 5 stack 1 changes
      {.op = Op::kRealloc, .addr = 0, .size = 1u << 30, .tid = 1, .arg = A},  // 6 fails
  });
  ASSERT_EQ(r.stats.peak_live_seq, 4);
  absl::StatusOr<TraceReader> reader = TraceReader::Open(r.path);
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT(Rows(*reader, "SELECT stack, peak_bytes FROM stack_stats ORDER BY stack"),
              ::testing::ElementsAre("1 105 ", "2 200 "));
}

// Random scripts over a few addresses, threads, stacks and two processes,
// with failed and interrupted reallocs, double frees and an exec: the
// pass's per-stack sums must equal the SQL over the pairs it wrote.
TEST(BuildAllocations, StackStatsMatchPairsOnRandomScripts) {
  std::mt19937_64 rng(20261127);
  for (int round = 0; round < 40; ++round) {
    std::vector<Step> steps;
    for (int i = 0; i < 300; ++i) {
      auto pick = [&](uint64_t n) { return rng() % n; };
      const uint64_t addr = A + 16 * pick(12);
      const int32_t tid = static_cast<int32_t>(1 + pick(3));
      const int64_t stack = static_cast<int64_t>(pick(5));  // 0: not recorded
      const uint64_t size = 1 + pick(100);
      switch (pick(10)) {
        case 0:
        case 1:
        case 2:
          steps.push_back({.op = Op::kMalloc, .addr = addr, .size = size, .tid = tid, .stack = stack});
          break;
        case 3:
        case 4:
        case 5:
          steps.push_back({.op = Op::kFree, .addr = addr, .tid = tid});
          break;
        case 6: {  // realloc: moves, fails, or (last event) never returns
          steps.push_back({.op = Op::kReallocRelease, .addr = addr, .tid = tid});
          uint64_t to = pick(4) == 0 ? 0 : A + 16 * pick(12);
          for (uint64_t n = pick(4); n > 0; --n) {  // another thread runs in between
            steps.push_back({.op = n % 2 ? Op::kFree : Op::kMalloc, .addr = A + 16 * pick(12),
                             .size = n % 2 ? 0 : size, .tid = tid % 3 + 1,
                             .stack = static_cast<int64_t>(pick(5))});
          }
          steps.push_back({.op = Op::kRealloc, .addr = to, .size = to == 0 ? (1u << 30) : size,
                           .tid = tid, .arg = addr, .stack = stack});
          break;
        }
        case 7:
          steps.push_back({.op = Op::kNew, .addr = addr, .size = size, .tid = tid, .pid = 2,
                           .stack = stack});
          break;
        case 8:
          steps.push_back({.op = Op::kDelete, .addr = addr, .tid = tid, .pid = 2});
          break;
        default:
          if (pick(20) == 0) {
            steps.push_back({.op = Op::kExec, .tid = 1, .pid = 2});
            steps.push_back({.op = Op::kProcessStart, .tid = 1, .pid = 2});
          } else {
            steps.push_back({.op = Op::kCalloc, .addr = addr, .size = size, .tid = tid,
                             .arg = 1, .stack = stack});
          }
      }
    }
    if (round % 2 == 0) steps.push_back({.op = Op::kReallocRelease, .addr = A, .tid = 1});
    RunPass(steps);  // checks stack_stats against the pairs
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "round " << round;
      return;
    }
  }
}

// A trace finished before the pass wrote stack_stats: readers select the
// same rows from the pairs instead.
TEST(BuildAllocations, TraceWithoutStackStatsReadsThemFromPairs) {
  Result r = RunPass({
      {.op = Op::kMalloc, .addr = A, .size = 10, .stack = 3},
      {.op = Op::kMalloc, .addr = B, .size = 20},
      {.op = Op::kFree, .addr = A},
  });
  const std::string sql = "SELECT * FROM stack_stats ORDER BY stack";
  std::vector<std::string> before;
  {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(r.path);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(reader->WithStackStats(sql), sql);
    before = Rows(*reader, sql);
  }
  {
    absl::StatusOr<db_internal::SqlDatabase> db =
        db_internal::SqlDatabase::Open(r.path, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("DROP TABLE stack_stats", "dropping").ok());
  }
  absl::StatusOr<TraceReader> reader = TraceReader::Open(r.path);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(reader->HasTable("stack_stats"));
  EXPECT_NE(reader->WithStackStats(sql), sql);
  EXPECT_EQ(Rows(*reader, reader->WithStackStats(sql)), before);
  EXPECT_THAT(before, ::testing::ElementsAre("0 1 20 20 1 20 2 ", "3 1 10 10 0 0 NULL "));
}

// The SQL list of allocation ops (views, reports) is db/ops.h's.
TEST(EventLogSql, HeapAcquireOpsAreOpsH) {
  std::vector<int> expected;
  for (int code = 0; code < kOpCount; ++code) {
    Op op = static_cast<Op>(code);
    if (IsKnownOp(static_cast<uint8_t>(code)) && IsAcquisition(op) && IsHeapOp(op)) {
      expected.push_back(code);
    }
  }
  std::vector<int> listed;
  std::string text = ATR_SQL_HEAP_ACQUIRE_OPS;
  for (char& c : text) {
    if (c < '0' || c > '9') c = ' ';
  }
  std::istringstream in(text);
  for (int code; in >> code;) listed.push_back(code);
  EXPECT_EQ(listed, expected);
}

TEST(BuildAllocations, MissingFile) {
  absl::StatusOr<AllocationStats> s = BuildAllocations("/nonexistent/run.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "/nonexistent/run.db: no such file");
}

}  // namespace
}  // namespace atr
