// The table groups and their one upgrade path (db/table_groups.h,
// db/table_defs.h, EnsureTableGroup in db/schema.h).
#include "db/table_groups.h"

#include <unistd.h>

#include <cctype>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/db_test_util.h"
#include "db/schema.h"
#include "db/sqlite.h"
#include "db/table_defs.h"
#include "db/table_transaction.h"
#include "db/trace_reader.h"
#include "db/trace_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::FreshPath;
using db_internal::EnsureTableGroup;
using db_internal::GroupObjects;
using db_internal::LaterColumn;
using db_internal::SchemaObject;
using db_internal::SchemaObjectKind;
using db_internal::SqlDatabase;
using db_internal::SqlStatement;
using ::testing::ElementsAreArray;

SqlDatabase MustOpen(const std::string& path) {
  absl::StatusOr<SqlDatabase> db =
      SqlDatabase::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : SqlDatabase();
}

void MustExec(SqlDatabase& db, const std::string& sql) {
  absl::Status s = db.Exec(sql, "test");
  ASSERT_TRUE(s.ok()) << s;
}

// Every row of `sql`, each column as text.
std::vector<std::vector<std::string>> RowsOf(const SqlDatabase& db, const std::string& sql) {
  absl::StatusOr<SqlStatement> st = SqlStatement::Prepare(db, sql, "test");
  EXPECT_TRUE(st.ok()) << st.status();
  std::vector<std::vector<std::string>> rows;
  while (st.ok()) {
    absl::StatusOr<bool> row = st->Step();
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok() || !*row) break;
    std::vector<std::string>& r = rows.emplace_back();
    for (int c = 0; c < sqlite3_column_count(st->get()); ++c) r.push_back(st->ColumnText(c));
  }
  return rows;
}

// (type, name, sql) of every object of the file, by name.
using SchemaRow = std::tuple<std::string, std::string, std::string>;
std::vector<SchemaRow> SchemaOf(const SqlDatabase& db) {
  std::vector<SchemaRow> out;
  for (const auto& r :
       RowsOf(db, "SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY name")) {
    out.emplace_back(r[0], r[1], r[2]);
  }
  return out;
}

// (name, type, notnull, default, pk) of every column of `table`, in order.
std::vector<std::vector<std::string>> ColumnsOf(const SqlDatabase& db, const std::string& table) {
  return RowsOf(db, absl::StrCat("SELECT name, type, \"notnull\", coalesce(dflt_value, '-'), pk "
                                 "FROM pragma_table_info('", table, "')"));
}

const char* TypeName(SchemaObjectKind kind) {
  switch (kind) {
    case SchemaObjectKind::kTable: return "table";
    case SchemaObjectKind::kView: return "view";
    case SchemaObjectKind::kIndex: return "index";
  }
  return "";
}

// Every later column of every group, with its table.
std::vector<std::pair<std::string, LaterColumn>> AllLaterColumns() {
  std::vector<std::pair<std::string, LaterColumn>> out;
  for (TableGroup g : kAllTableGroups) {
    for (const SchemaObject& o : GroupObjects(g)) {
      for (const LaterColumn& c : o.later_columns) out.emplace_back(std::string(o.name), c);
    }
  }
  return out;
}

TEST(TableGroups, EveryGroupCreatesExactlyItsObjects) {
  for (TableGroup g : kAllTableGroups) {
    SCOPED_TRACE(TableGroupName(g));
    std::string path = FreshPath(absl::StrCat(static_cast<int>(g), ".db"));
    SqlDatabase db = MustOpen(path);
    // Each group alone in an empty file: none needs another to be created.
    ASSERT_TRUE(EnsureTableGroup(db, g).ok());
    std::set<std::pair<std::string, std::string>> expected, found;
    for (const SchemaObject& o : GroupObjects(g)) {
      expected.emplace(TypeName(o.kind), std::string(o.name));
    }
    for (const auto& [type, name, sql] : SchemaOf(db)) {
      if (name.rfind("sqlite_autoindex_", 0) == 0) continue;  // UNIQUE / PRIMARY KEY
      found.emplace(type, name);
    }
    EXPECT_EQ(found, expected);
  }
}

TEST(TableGroups, NoTableIsInTwoGroups) {
  std::set<std::string> seen;
  for (TableGroup g : kAllTableGroups) {
    for (const SchemaObject& o : GroupObjects(g)) {
      EXPECT_TRUE(seen.insert(std::string(o.name)).second) << o.name;
    }
  }
}

// SQLite stores "CREATE TABLE name..." for "CREATE TABLE IF NOT EXISTS
// name...": files written before the groups existed (which used either
// form) have the same text as new ones.
TEST(TableGroups, StoredTextIsTheDefinitionWithoutIfNotExists) {
  SqlDatabase db = MustOpen(FreshPath("text.db"));
  for (TableGroup g : kAllTableGroups) ASSERT_TRUE(EnsureTableGroup(db, g).ok());
  std::vector<SchemaRow> rows = SchemaOf(db);
  for (TableGroup g : kAllTableGroups) {
    for (const SchemaObject& o : GroupObjects(g)) {
      std::string kind = TypeName(o.kind);
      for (char& c : kind) c = static_cast<char>(toupper(c));
      const SchemaRow want{TypeName(o.kind), std::string(o.name),
                           absl::StrCat("CREATE ", kind, " ", o.name, o.definition)};
      EXPECT_THAT(rows, ::testing::Contains(want)) << o.name;
    }
  }
}

TEST(TableGroups, EnsuringTwiceChangesNothing) {
  SqlDatabase db = MustOpen(FreshPath("twice.db"));
  for (TableGroup g : kAllTableGroups) ASSERT_TRUE(EnsureTableGroup(db, g).ok());
  MustExec(db, "INSERT INTO replays(id, allocator, config, threads, counterfactual) "
               "VALUES(7, 'builtin', 'c', 'model', 'drop x')");
  const std::vector<SchemaRow> before = SchemaOf(db);
  for (TableGroup g : kAllTableGroups) ASSERT_TRUE(EnsureTableGroup(db, g).ok());
  EXPECT_EQ(SchemaOf(db), before);
  absl::StatusOr<SqlStatement> q =
      SqlStatement::Prepare(db, "SELECT counterfactual FROM replays WHERE id = 7", "test");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->ColumnText(0), "drop x");
}

// A file written before a group gained its later columns gets them, keeps
// its rows, and ends up with the columns a new file is created with.
TEST(TableGroups, OlderFileGetsTheLaterColumns) {
  const auto later = AllLaterColumns();
  ASSERT_FALSE(later.empty());
  SqlDatabase fresh = MustOpen(FreshPath("fresh.db"));
  SqlDatabase old = MustOpen(FreshPath("old.db"));
  for (TableGroup g : kAllTableGroups) {
    ASSERT_TRUE(EnsureTableGroup(fresh, g).ok());
    ASSERT_TRUE(EnsureTableGroup(old, g).ok());
  }
  // The older layout: every later column dropped again, and a row in it.
  for (const auto& [table, c] : later) {
    MustExec(old, absl::StrCat("ALTER TABLE ", table, " DROP COLUMN ", c.name));
  }
  MustExec(old, "INSERT INTO replays(id, allocator, config, threads) "
                "VALUES(3, 'jemalloc', 'c', 'real')");
  for (const auto& [table, c] : later) {
    ASSERT_FALSE(*old.HasColumn(table, c.name)) << table << "." << c.name;
  }

  for (TableGroup g : kAllTableGroups) ASSERT_TRUE(EnsureTableGroup(old, g).ok());

  for (TableGroup g : kAllTableGroups) {
    for (const SchemaObject& o : GroupObjects(g)) {
      if (o.kind != SchemaObjectKind::kTable) continue;
      EXPECT_THAT(ColumnsOf(old, std::string(o.name)),
                  ElementsAreArray(ColumnsOf(fresh, std::string(o.name))))
          << o.name;
    }
  }
  absl::StatusOr<SqlStatement> q = SqlStatement::Prepare(
      old, "SELECT allocator, counterfactual IS NULL FROM replays WHERE id = 3", "test");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->ColumnText(0), "jemalloc");
  EXPECT_EQ(q->ColumnInt64(1), 1);
}

TEST(TableGroups, RequiredTablesAreRecordingTables) {
  std::set<std::string> recording;
  for (TableGroup g : {TableGroup::kMeta, TableGroup::kRecording}) {
    for (const SchemaObject& o : GroupObjects(g)) recording.insert(std::string(o.name));
  }
  for (const char* t : db_internal::kRequiredTables) EXPECT_TRUE(recording.count(t)) << t;
}

std::string FinishedTrace(const std::string& name) {
  std::string path = FreshPath(name);
  auto w = TraceWriter::Create(path);
  EXPECT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->AddEvent({.seq = 1, .pid = 3, .tid = 3, .op = Op::kMalloc, .addr = 16,
                              .size = 100})
                  .ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return path;
}

TEST(TableTransaction, CommitKeepsTheGroupAndItsRows) {
  std::string path = FinishedTrace("commit.db");
  {
    absl::StatusOr<TableTransaction> t = TableTransaction::Begin(path, {TableGroup::kReplay});
    ASSERT_TRUE(t.ok()) << t.status();
    MustExec(t->database(), "INSERT INTO replays(allocator, config, threads) "
                            "VALUES('builtin', 'c', 'model')");
    ASSERT_TRUE(t->Commit().ok());
  }
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->HasTable("replays"));
  EXPECT_TRUE(r->HasTable("replay_problems"));
  EXPECT_FALSE(r->HasTable("replay_stack_threads"));
}

TEST(TableTransaction, WithoutCommitNothingStays) {
  std::string path = FinishedTrace("rollback.db");
  {
    absl::StatusOr<TableTransaction> t =
        TableTransaction::Begin(path, {TableGroup::kSourceSites});
    ASSERT_TRUE(t.ok()) << t.status();
    MustExec(t->database(), "INSERT INTO sites(file, line, column, end_line, kind, in_loop) "
                            "VALUES('a.cc', 1, 1, 1, 'new', 0)");
  }
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->HasTable("sites"));
}

TEST(TableTransaction, MissingFileIsOneLine) {
  std::string path = FreshPath("missing.db");
  absl::StatusOr<TableTransaction> t = TableTransaction::Begin(path, {TableGroup::kReplay});
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), ::testing::HasSubstr(path));
  EXPECT_EQ(access(path.c_str(), F_OK), -1);  // not created
}

TEST(ColumnOrNull, ReadsWhatAnOlderFileHas) {
  std::string path = FinishedTrace("column.db");
  {
    absl::StatusOr<TableTransaction> t = TableTransaction::Begin(path, {TableGroup::kReplay});
    ASSERT_TRUE(t.ok()) << t.status();
    MustExec(t->database(), "ALTER TABLE replays DROP COLUMN counterfactual");
    ASSERT_TRUE(t->Commit().ok());
  }
  {
    absl::StatusOr<TraceReader> r = TraceReader::Open(path);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*ColumnOrNull(*r, "replays", "counterfactual"), "NULL");
    EXPECT_EQ(*ColumnOrNull(*r, "replays", "allocator"), "allocator");
  }
  // The next writer of the group upgrades the file.
  ASSERT_TRUE(TableTransaction::Begin(path, {TableGroup::kReplay})->Commit().ok());
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*ColumnOrNull(*r, "replays", "counterfactual"), "counterfactual");
}

TEST(TraceWriter, EnsureTablesAddsAGroupInTheWritersTransaction) {
  std::string path = FreshPath("writer.db");
  auto w = TraceWriter::Create(path, {.commit_on_flush_only = true});
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->EnsureTables(TableGroup::kSpoolProgress).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->HasTable("spool_progress"));
  EXPECT_TRUE(r->HasTable("spool_stacks"));
  EXPECT_FALSE(r->HasTable("stack_stats"));  // only the allocation pass makes it
}

TEST(TraceWriter, FinishedTraceHasTheRecordingAndAllocationResultGroups) {
  std::string path = FinishedTrace("new.db");
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  for (TableGroup g : {TableGroup::kMeta, TableGroup::kRecording,
                       TableGroup::kAllocationResults}) {
    for (const SchemaObject& o : GroupObjects(g)) {
      if (o.kind == SchemaObjectKind::kTable) {
        EXPECT_TRUE(r->HasTable(o.name)) << o.name;
      }
    }
  }
  EXPECT_FALSE(r->HasTable("replays"));
}

}  // namespace
}  // namespace atr
