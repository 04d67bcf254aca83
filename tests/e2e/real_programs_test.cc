// Real programs from Debian recorded by `atr record`: python3 and SQLite.
// Each recording must be whole (no lost events, recording_complete, every
// release paired), its frames in the interpreter / library symbolized, and
// its counts within 1% of a second count that does not come from atr:
//   python3  tests/programs/py_alloc_counter.c, a counting wrapper around
//            Python's allocator API installed by the script through ctypes;
//   SQLite   SQLite's own SQLITE_STATUS_MALLOC_COUNT, read by
//            tests/programs/sqlite_status.c (linked to libsqlite3).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/e2e/run_command.h"
#include "tests/e2e/trace_query.h"
#include "tests/support/require_dependency.h"

namespace atr::testing {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

// What every recording of a well-behaved program must show.
void ExpectWholeRecording(TraceReader& reader) {
  EXPECT_EQ(reader.MetaInt("lost_events"), 0);
  EXPECT_EQ(reader.MetaInt("recording_complete"), 1);
  EXPECT_EQ(reader.MetaInt("alloc_unmatched_releases"), 0);
  EXPECT_EQ(reader.MetaInt("alloc_reacquired_live"), 0);
}

// Frames of modules whose path matches `like` that have a function name.
int64_t SymbolizedFramesIn(TraceReader& reader, const std::string& like) {
  return QueryInt(reader, "SELECT count(*) FROM frames f JOIN modules m ON m.id = f.module_id "
                          "WHERE f.function IS NOT NULL AND m.path LIKE '" + like + "'");
}

// `at_least`: the independent count must be that large, or the comparison
// says nothing.
void ExpectWithinOnePercent(int64_t atr, int64_t independent, const std::string& what,
                            int64_t at_least) {
  EXPECT_GE(independent, at_least) << what << ": too few to compare";
  EXPECT_LE(std::abs(atr - independent), independent / 100)
      << what << ": atr " << atr << ", independent count " << independent;
}

// The script: the workload between the counter's start and stop; prints
// the counter's malloc, calloc, realloc, realloc-of-a-block and
// free-of-a-block counts.
constexpr char kPythonScript[] = R"(
import ctypes, sys
counter = ctypes.PyDLL(sys.argv[1])  # PyDLL: the GIL stays held
counter.py_alloc_counter_get.restype = ctypes.c_uint64
counter.py_alloc_counter_start()
d = {i: str(i) for i in range(20000)}
l = [x * 2 for x in range(20000)]
s = sorted(d.values(), key=lambda v: v[::-1])
del d, l
counter.py_alloc_counter_stop()
print(' '.join(str(counter.py_alloc_counter_get(i)) for i in range(5)))
)";

// Events of `ops` between the counter's start and stop marks (the free of
// its 777001-byte block, the malloc of its 777002-byte one) whose stack
// passes through the counter's wrappers.
constexpr char kCountedEvents[] = R"sql(
WITH RECURSIVE through(id) AS (
  SELECT s.id FROM stacks s JOIN frames f ON f.id = s.frame
    JOIN modules m ON m.id = f.module_id WHERE m.path LIKE '%libpy_alloc_counter.so'
  UNION SELECT s.id FROM stacks s JOIN through t ON s.parent = t.id),
window(lo, hi) AS (
  SELECT (SELECT free_seq FROM allocations WHERE op = 1 AND size = 777001),
         (SELECT seq FROM events WHERE op = 1 AND size = 777002))
SELECT count(*) FROM events e, window
WHERE e.seq > window.lo AND e.seq < window.hi AND e.stack IN (SELECT id FROM through) AND )sql";

TEST(RealProgramsTest, Python) {
  ATR_REQUIRE_DEPENDENCY(access(kPython, X_OK) == 0, std::string(kPython));
  TempDir dir;
  std::string trace = dir.File("py.db");
  CommandResult r = AtrRecord(
      trace, {kPython, "-c", kPythonScript, ProgramPath("libpy_alloc_counter.so")}, {},
      {"PYTHONMALLOC=malloc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  int64_t mallocs = 0, callocs = 0, reallocs = 0, realloc_blocks = 0, frees = 0;
  ASSERT_TRUE(out >> mallocs >> callocs >> reallocs >> realloc_blocks >> frees) << r.out;

  TraceReader reader = OpenTrace(trace);
  ExpectWholeRecording(reader);
  EXPECT_GT(SymbolizedFramesIn(reader, "%python3%"), 100);
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM frames WHERE function LIKE '%PyEval_Eval%'"),
            0);
  ExpectWithinOnePercent(QueryInt(reader, absl::StrCat(kCountedEvents, "e.op IN (1, 2, 3)")),
                         mallocs + callocs + reallocs, "acquisitions", 50000);
  ExpectWithinOnePercent(QueryInt(reader, absl::StrCat(kCountedEvents, "e.op = 5 AND e.addr != 0")),
                         frees, "frees", 50000);
  // realloc of a block: its release half (op 11).
  ExpectWithinOnePercent(QueryInt(reader, absl::StrCat(kCountedEvents, "e.op = 11")),
                         realloc_blocks, "reallocs of a block", 20);
}

// Allocations from libsqlite3 (the caller of malloc is in it) live at the
// mark, the malloc of 987654 bytes.
constexpr char kSqliteLiveAtMark[] = R"sql(
WITH mark(seq) AS (SELECT seq FROM events WHERE op = 1 AND size = 987654)
SELECT count(*) FROM allocations a JOIN stacks s ON s.id = a.alloc_stack
  JOIN frames f ON f.id = s.frame JOIN modules m ON m.id = f.module_id, mark
WHERE m.path LIKE '%libsqlite3.so%' AND a.alloc_seq < mark.seq
  AND (a.free_seq IS NULL OR a.free_seq > mark.seq))sql";

TEST(RealProgramsTest, Sqlite) {
  TempDir dir;
  std::string trace = dir.File("sqlite.db");
  CommandResult r = AtrRecord(trace, {ProgramPath("sqlite_status")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int64_t outstanding = std::stoll(r.out);
  TraceReader reader = OpenTrace(trace);
  ExpectWholeRecording(reader);
  EXPECT_GT(SymbolizedFramesIn(reader, "%libsqlite3.so%"), 10);
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM frames WHERE function = 'sqlite3_exec'"), 0);
  ExpectWithinOnePercent(QueryInt(reader, kSqliteLiveAtMark), outstanding,
                         "SQLite's outstanding allocations", 200);
}

// The sqlite3 shell, as a user would run it.
TEST(RealProgramsTest, SqliteShell) {
  ATR_REQUIRE_DEPENDENCY(access("/usr/bin/sqlite3", X_OK) == 0, "/usr/bin/sqlite3");
  TempDir dir;
  std::string trace = dir.File("shell.db");
  std::string script =
      "CREATE TABLE t(a INTEGER, b TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 "
      "FROM c WHERE x < 20000) INSERT INTO t SELECT x, hex(randomblob(16)) FROM c; "
      "CREATE INDEX tb ON t(b); SELECT count(*) FROM t;";
  CommandResult r = AtrRecord(trace, {"/usr/bin/sqlite3", ":memory:", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "20000\n");
  TraceReader reader = OpenTrace(trace);
  ExpectWholeRecording(reader);
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM allocations"), 1000);
  EXPECT_GT(SymbolizedFramesIn(reader, "%libsqlite3.so%"), 10);
}

}  // namespace
}  // namespace atr::testing
