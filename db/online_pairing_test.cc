#include "db/online_pairing.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "db/batch_inserter.h"
#include "db/db_test_util.h"
#include "db/trace_writer.h"
#include "gtest/gtest.h"

namespace atr::db_internal {
namespace {

struct Fed {
  EventValues row;
  int32_t pid;
};

// A heap where every block lives a few events: mallocs at 64 addresses,
// each freed 3 allocations later, plus one freed at the very end.
std::vector<Fed> Script() {
  std::vector<Fed> out;
  int64_t seq = 0;
  auto add = [&](Op op, uint64_t addr, uint64_t size) {
    ++seq;
    EventValues row{};
    row[kSeq] = seq;
    row[kThread] = 1 + seq % 2;
    row[kOp] = static_cast<int64_t>(op);
    row[kAddr] = static_cast<int64_t>(addr);
    row[kSize] = static_cast<int64_t>(size);
    row[kStack] = 1 + seq % 5;
    out.push_back({row, 7});
  };
  add(Op::kMalloc, 0x9000, 1000);
  for (uint64_t i = 0; i < 64; ++i) {
    add(Op::kMalloc, 0x1000 + 16 * i, 1 + i);
    if (i >= 3) add(Op::kFree, 0x1000 + 16 * (i - 3), 0);
  }
  add(Op::kFree, 0x9000, 0);
  return out;
}

struct Outcome {
  std::optional<AllocationStats> stats;  // nullopt: abandoned
  std::vector<std::string> allocations;  // "alloc_seq free_seq" per allocations row
  int64_t rows = 0;                      // in event_log
  int64_t late = 0;                      // in late_frees
};

int64_t Count(SqlDatabase& db, const char* sql) {
  absl::StatusOr<SqlStatement> st = SqlStatement::Prepare(db, sql, "test");
  EXPECT_TRUE(st.ok()) << st.status();
  absl::StatusOr<bool> row = st->Step();
  EXPECT_TRUE(row.ok() && *row);
  return st->ColumnInt64(0);
}

// Feeds `events` in the given order through an OnlinePairing with small
// windows, into a fresh trace.
Outcome PairAsFed(const std::vector<Fed>& events, size_t held_window) {
  std::string path = ::atr::testing::FreshPath("online.db");
  {
    auto w = TraceWriter::Create(path);
    EXPECT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE((*w)->PutThread({.pid = 7, .tid = 70}).ok());  // threads.id 1
    EXPECT_TRUE((*w)->PutThread({.pid = 7, .tid = 71}).ok());  // threads.id 2
    EXPECT_TRUE((*w)->Flush().ok());
  }
  absl::StatusOr<SqlDatabase> db = SqlDatabase::Open(path, SQLITE_OPEN_READWRITE);
  EXPECT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE(db->Exec("BEGIN", "test").ok());
  absl::StatusOr<BatchInserter> out =
      BatchInserter::Create(*db, "event_log", kEventColumns, kEventNullIfZero, "test");
  EXPECT_TRUE(out.ok()) << out.status();
  absl::StatusOr<SqlStatement> late =
      SqlStatement::Prepare(*db, "INSERT INTO late_frees VALUES(?1, ?2)", "test");
  EXPECT_TRUE(late.ok()) << late.status();
  // What the writer does with the staged work (TraceWriter::InsertStagedEvents).
  auto insert = [&](StagedEvents& st) {
    EXPECT_TRUE(st.threads.empty());
    for (const EventValues& row : st.rows) {
      std::copy(row.begin(), row.end(), out->Row());
      EXPECT_TRUE(out->Commit().ok());
    }
    for (const auto& [alloc_seq, free_seq] : st.late_frees) {
      late->BindInt64(1, alloc_seq);
      late->BindInt64(2, free_seq);
      EXPECT_TRUE(late->Run().ok());
    }
    st.Clear();
  };
  Outcome o;
  {
    OnlinePairing p(/*reorder_window=*/4, held_window);
    for (const Fed& e : events) {
      EXPECT_TRUE(p.Add(e.row, e.pid).ok());
      insert(p.staged());
    }
    absl::StatusOr<std::optional<AllocationStats>> stats = p.Finish(*db);
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (stats.ok()) o.stats = *stats;
    insert(p.staged());
  }
  EXPECT_TRUE(out->Flush().ok());
  EXPECT_TRUE(db->Exec("COMMIT", "test").ok());
  absl::StatusOr<SqlStatement> st = SqlStatement::Prepare(
      *db, "SELECT alloc_seq, free_seq FROM allocations ORDER BY alloc_seq", "test");
  EXPECT_TRUE(st.ok()) << st.status();
  while (st->Step().value_or(false)) {
    o.allocations.push_back(st->ColumnText(0) + " " + st->ColumnText(1));
  }
  o.rows = Count(*db, "SELECT count(*) FROM event_log");
  o.late = Count(*db, "SELECT count(*) FROM late_frees");
  return o;
}

TEST(OnlinePairing, ReordersWithinTheWindow) {
  std::vector<Fed> events = Script();
  Outcome sorted = PairAsFed(events, OnlinePairing::kHeldWindow);
  ASSERT_TRUE(sorted.stats.has_value());
  EXPECT_EQ(sorted.stats->allocations, 65);
  EXPECT_EQ(sorted.stats->releases, 62);
  EXPECT_EQ(sorted.stats->leaked, 3);
  EXPECT_EQ(sorted.allocations.size(), 65u);
  EXPECT_EQ(sorted.allocations.front(), "1 " + std::to_string(events.size()));
  EXPECT_EQ(sorted.late, 0);

  // Adjacent events swapped: what two threads' interleaved chunks look like.
  for (size_t i = 0; i + 1 < events.size(); i += 2) std::swap(events[i], events[i + 1]);
  Outcome swapped = PairAsFed(events, OnlinePairing::kHeldWindow);
  ASSERT_TRUE(swapped.stats.has_value());
  EXPECT_EQ(*swapped.stats, *sorted.stats);
  EXPECT_EQ(swapped.allocations, sorted.allocations);
}

// The block at seq 1 outlives a 4-row held window: its row is inserted
// first and its release, found later, goes to late_frees.
TEST(OnlinePairing, HeldWindowOverflowWritesTheReleaseLate) {
  Outcome roomy = PairAsFed(Script(), OnlinePairing::kHeldWindow);
  Outcome tight = PairAsFed(Script(), /*held_window=*/4);
  ASSERT_TRUE(tight.stats.has_value());
  EXPECT_EQ(*tight.stats, *roomy.stats);
  EXPECT_EQ(tight.allocations, roomy.allocations);
  EXPECT_GE(tight.late, 1);
  EXPECT_EQ(tight.rows, roomy.rows);
}

TEST(OnlinePairing, GivesUpOnAnEventOlderThanThePairedOnes) {
  std::vector<Fed> events = Script();
  // The first event arrives after 20 later ones were paired.
  std::rotate(events.begin(), events.begin() + 1, events.begin() + 21);
  Outcome o = PairAsFed(events, OnlinePairing::kHeldWindow);
  EXPECT_EQ(o.stats, std::nullopt);
  EXPECT_EQ(o.rows, static_cast<int64_t>(events.size()));  // every row still inserted
}

}  // namespace
}  // namespace atr::db_internal
