#include "db/query.h"

#include "db/db_test_util.h"
#include "db/trace_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::FreshPath;
using ::testing::HasSubstr;

TraceReader SmallTrace() {
  std::string path = FreshPath("q.db");
  auto w = TraceWriter::Create(path);
  EXPECT_TRUE(w.ok());
  EXPECT_TRUE((*w)->AddEvent({.seq = 1, .pid = 3, .tid = 3, .op = Op::kMalloc, .addr = 16, .size = 100}).ok());
  EXPECT_TRUE((*w)->AddEvent({.seq = 2, .pid = 3, .tid = 3, .op = Op::kMalloc, .addr = 32, .size = 50}).ok());
  EXPECT_TRUE((*w)->AddEvent({.seq = 3, .pid = 3, .tid = 3, .op = Op::kFree, .addr = 16}).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  EXPECT_TRUE(r.ok());
  return *std::move(r);
}

TEST(QueryCursor, StreamsRowsOfTheViews) {
  TraceReader r = SmallTrace();
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      r, "SELECT count(*), sum(size), max(free_seq) FROM allocations WHERE pid = 3");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->columns(), 3);
  EXPECT_EQ(q->Int(0), 2);
  EXPECT_EQ(q->Int(1), 150);
  EXPECT_EQ(q->Int(2), 3);
  EXPECT_FALSE(q->Next());
  EXPECT_TRUE(q->status().ok());
}

TEST(QueryCursor, OpStatsAndAllocatedBytes) {
  TraceReader r = SmallTrace();
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      r, "SELECT name, calls, bytes FROM op_stats JOIN ops ON ops.code = op_stats.op ORDER BY op");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->Text(0), "malloc");
  EXPECT_EQ(q->Int(1), 2);
  EXPECT_EQ(q->Int(2), 150);
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->Text(0), "free");
  EXPECT_FALSE(q->Next());
  EXPECT_EQ(r.MetaInt("alloc_allocated_bytes"), 150);
}

TEST(QueryCursor, ErrorsAreOneLine) {
  TraceReader r = SmallTrace();
  absl::StatusOr<QueryCursor> bad = QueryCursor::Run(r, "SELECT sizes FROM events");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(r.path() + ": query: no such column: sizes"));
  absl::StatusOr<QueryCursor> two = QueryCursor::Run(r, "SELECT 1; SELECT 2");
  ASSERT_FALSE(two.ok());
  absl::StatusOr<QueryCursor> write = QueryCursor::Run(r, "DELETE FROM event_log");
  ASSERT_TRUE(write.ok());  // prepared; refused when run
  EXPECT_FALSE(write->Next());
  EXPECT_FALSE(write->status().ok());
  EXPECT_EQ(*r.CountEvents(), 3);
}

TEST(QueryCursor, BindsParametersInOrder) {
  TraceReader r = SmallTrace();
  absl::StatusOr<QueryCursor> q =
      QueryCursor::Run(r,
                       "SELECT alloc_seq, size FROM allocations "
                       "WHERE size >= ?1 AND alloc_seq <= ?2 ORDER BY alloc_seq",
                       {60, 2});
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->Int(0), 1);
  EXPECT_EQ(q->Int(1), 100);
  EXPECT_FALSE(q->Next());
  EXPECT_TRUE(q->status().ok());
  // A value for every parameter, no more, no fewer.
  absl::StatusOr<QueryCursor> missing = QueryCursor::Run(r, "SELECT ?1 + ?2", {1});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("query: 1 values for 2 parameters"));
  EXPECT_FALSE(QueryCursor::Run(r, "SELECT 1", {1}).ok());
}

TEST(QueryScalar, FirstColumnOfTheFirstRow) {
  TraceReader r = SmallTrace();
  EXPECT_EQ(*QueryScalar(r, "SELECT count(*) FROM allocations"), 2);
  EXPECT_EQ(*QueryScalar(r, "SELECT size FROM allocations WHERE alloc_seq = ?1", {2}), 50);
  EXPECT_EQ(*QueryScalar(r, "SELECT alloc_seq FROM allocations ORDER BY alloc_seq DESC"), 2);
  // No row and NULL both read as 0.
  EXPECT_EQ(*QueryScalar(r, "SELECT size FROM allocations WHERE alloc_seq = 99"), 0);
  EXPECT_EQ(*QueryScalar(r, "SELECT max(free_seq) FROM allocations WHERE alloc_seq = 2"), 0);
  absl::StatusOr<int64_t> bad = QueryScalar(r, "SELECT nope FROM allocations");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(r.path() + ": query: no such column: nope"));
}

}  // namespace
}  // namespace atr
