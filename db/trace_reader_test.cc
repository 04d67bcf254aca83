#include "db/trace_reader.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "db/allocations.h"
#include "db/db_test_util.h"
#include "db/trace_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::FreshPath;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// A finished trace of n malloc/free events on 4 threads.
void WriteTrace(const std::string& path, int n) {
  auto w = TraceWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  for (int i = 1; i <= n; ++i) {
    bool alloc = i % 2 == 1;
    uint64_t addr = 0x7f00'0000'0000ull + (static_cast<uint64_t>((i + 1) / 2) << 5);
    ASSERT_TRUE((*w)->AddEvent({.seq = i, .ts_ns = i * 100, .pid = 7, .tid = 7 + i % 4,
                                .op = alloc ? Op::kMalloc : Op::kFree, .addr = addr,
                                .size = alloc ? 32u : 0u, .stack = 0, .sp_depth = 512})
                    .ok());
  }
  ASSERT_TRUE((*w)->Finish().ok());
}

std::string OpenError(const std::string& path) {
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(TraceReader, MissingFile) {
  std::string path = FreshPath("none.db");
  EXPECT_EQ(OpenError(path), path + ": no such file");
}

TEST(TraceReader, EmptyFile) {
  std::string path = FreshPath("empty.db");
  WriteFile(path, "");
  EXPECT_EQ(OpenError(path), path + ": empty file, not an atr trace");
}

TEST(TraceReader, NotSqlite) {
  std::string path = FreshPath("text.db");
  WriteFile(path, "hello, this is a text file and certainly not a database\n");
  EXPECT_EQ(OpenError(path), path + ": not an atr trace (not a SQLite database)");
}

TEST(TraceReader, Directory) {
  EXPECT_THAT(OpenError(::testing::TempDir()), HasSubstr("is a directory"));
}

TEST(TraceReader, SqliteButNotATrace) {
  std::string path = FreshPath("other.db");
  Sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  EXPECT_EQ(OpenError(path), path + ": not an atr trace (no meta table)");
}

TEST(TraceReader, MetaWithoutVersion) {
  std::string path = FreshPath("other.db");
  Sql(path, "CREATE TABLE meta(key, value);");
  EXPECT_EQ(OpenError(path), path + ": not an atr trace (meta has no schema_version)");
}

TEST(TraceReader, NewerSchemaVersion) {
  std::string path = FreshPath("new.db");
  WriteTrace(path, 10);
  Sql(path, "UPDATE meta SET value='3' WHERE key='schema_version'");
  EXPECT_EQ(OpenError(path),
            path + ": trace schema version 3 is newer than this atr supports (2); use a newer atr");
}

// Version 1 kept allocations in a pairs table: such a trace is refused in
// one line, by the reader and by the writer that would continue it.
TEST(TraceReader, OlderSchemaVersion) {
  std::string path = FreshPath("old.db");
  WriteTrace(path, 10);
  Sql(path, "UPDATE meta SET value='1' WHERE key='schema_version'");
  const std::string message = path + ": trace schema 1 is older than this atr (2): record again";
  EXPECT_EQ(OpenError(path), message);
  Sql(path, "UPDATE meta SET value='0' WHERE key='complete'");
  absl::StatusOr<std::unique_ptr<TraceWriter>> w = TraceWriter::OpenUnfinished(path);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), message);
  absl::StatusOr<AllocationStats> again = BuildAllocations(path);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), message);
}

TEST(TraceReader, MissingTableIsDamage) {
  std::string path = FreshPath("t.db");
  WriteTrace(path, 10);
  Sql(path, "DROP VIEW allocations; DROP TABLE late_frees;");
  EXPECT_EQ(OpenError(path), path + ": damaged atr trace (no table late_frees)");
}

TEST(TraceReader, TruncatedFileGivesClearError) {
  std::string path = FreshPath("full.db");
  WriteTrace(path, 20000);
  std::string bytes = ReadFile(path);
  ASSERT_GT(bytes.size(), 100000u);
  for (size_t cut : {bytes.size() / 2, bytes.size() - 1, size_t{50}}) {
    std::string half = FreshPath("half.db");
    WriteFile(half, bytes.substr(0, cut));
    std::string err = OpenError(half);
    EXPECT_THAT(err, HasSubstr(half + ": truncated")) << cut;
  }
}

// Damage inside the file (not caught by the size check) must surface as an
// error from the cursor or the open, never as a crash.
TEST(TraceReader, CorruptPagesNeverCrash) {
  std::string path = FreshPath("full.db");
  WriteTrace(path, 20000);
  std::string bytes = ReadFile(path);
  for (size_t page = 1; page * 16384 < bytes.size(); page += 3) {
    std::string damaged = bytes;
    for (size_t i = page * 16384; i < std::min(bytes.size(), page * 16384 + 200); ++i) {
      damaged[i] = static_cast<char>(0xA5 ^ i);
    }
    std::string p = FreshPath("damaged.db");
    WriteFile(p, damaged);
    absl::StatusOr<TraceReader> r = TraceReader::Open(p);
    if (!r.ok()) continue;
    absl::StatusOr<EventCursor> c = r->Events();
    if (!c.ok()) continue;
    EventRow e;
    int64_t n = 0;
    while (c->Next(&e)) ++n;
    EXPECT_TRUE(c->status().ok() || c->status().code() == absl::StatusCode::kDataLoss)
        << c->status();
    if (!c->status().ok()) {
      EXPECT_THAT(c->status().message(), HasSubstr(p));
    }
  }
}

TEST(TraceReader, AllocationCursor) {
  std::string path = FreshPath("t.db");
  WriteTrace(path, 11);  // 6 mallocs, 5 frees: the last malloc leaks
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<AllocationCursor> c = r->Allocations();
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<AllocationRow> rows;
  AllocationRow a;
  while (c->Next(&a)) rows.push_back(a);
  ASSERT_TRUE(c->status().ok()) << c->status();
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].alloc_seq, 1);
  EXPECT_EQ(rows[0].free_seq, 2);
  EXPECT_EQ(rows[0].free_op, Op::kFree);
  EXPECT_EQ(rows[0].pid, 7);
  EXPECT_EQ(rows[0].alloc_tid, 8);
  EXPECT_EQ(rows[0].free_tid, 9);
  EXPECT_EQ(rows[0].size, 32u);
  EXPECT_EQ(rows[5].free_seq, std::nullopt);
  EXPECT_EQ(rows[5].free_tid, std::nullopt);
  absl::StatusOr<AllocationCursor> leaks = r->Allocations(/*only_live=*/true);
  ASSERT_TRUE(leaks.ok());
  ASSERT_TRUE(leaks->Next(&a));
  EXPECT_EQ(a.alloc_seq, 11);
  EXPECT_FALSE(leaks->Next(&a));
}

TEST(TraceReader, ViewsGiveDocumentedColumns) {
  std::string path = FreshPath("t.db");
  WriteTrace(path, 4);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT e.pid, e.tid, o.name, a.free_seq FROM events e "
                               "JOIN ops o ON o.code = e.op "
                               "LEFT JOIN allocations a ON a.alloc_seq = e.seq WHERE e.seq = 1",
                               -1, &st, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 7);
  EXPECT_EQ(sqlite3_column_int(st, 1), 8);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), "malloc");
  EXPECT_EQ(sqlite3_column_int(st, 3), 2);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(TraceReader, ReaderIsMovableWithLiveCaches) {
  std::string path = FreshPath("t.db");
  {
    auto w = TraceWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->PutFrame({.id = 1, .rel_pc = 1, .function = "a"}).ok());
    ASSERT_TRUE((*w)->AddStackNode({.id = 1, .frame = 1}).ok());
    ASSERT_TRUE((*w)->Finish().ok());
  }
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok());
  auto f1 = r->StackFrames(1);
  ASSERT_TRUE(f1.ok());
  TraceReader moved = *std::move(r);
  auto f2 = moved.StackFrames(1);
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ((*f1)[0], (*f2)[0]);  // same cached frame
  EXPECT_EQ((*f2)[0]->row.function, "a");
  absl::StatusOr<std::vector<const Frame*>> bad = moved.StackFrames(99);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("stack node 99 is not in stacks"));
}

}  // namespace
}  // namespace atr
