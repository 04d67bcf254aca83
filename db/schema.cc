#include "db/schema.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/event_log_sql.h"
#include "db/ops.h"
#include "db/trace_rows.h"

namespace atr::db_internal {
namespace {

// Columns are declared INTEGER/TEXT for readers of the schema; SQLite
// stores each integer in 0-8 bytes by value, which is why "none" is 0
// (free in record format 4) wherever 0 cannot be a real value.
constexpr char kTables[] = R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT);
CREATE TABLE ops(
  code INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,      -- 'acquire', 'release' or 'other'
  family TEXT);            -- 'malloc', 'new', 'new[]', 'mmap'; NULL for other ops
CREATE TABLE processes(
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  image INTEGER NOT NULL,
  ppid INTEGER,
  exe TEXT,
  argv TEXT,               -- JSON array of strings
  cwd TEXT,
  started_seq INTEGER,
  ended_seq INTEGER,
  started_ns INTEGER,
  ended_ns INTEGER,
  exit_status INTEGER,
  exit_signal INTEGER,
  UNIQUE(pid, image));
CREATE TABLE threads(
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  tid INTEGER NOT NULL,
  name TEXT,
  creator_tid INTEGER,
  started_seq INTEGER,
  ended_seq INTEGER,
  stack_lo INTEGER,
  stack_hi INTEGER,
  UNIQUE(pid, tid));
CREATE TABLE modules(
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  path TEXT NOT NULL,
  build_id TEXT,
  bias INTEGER NOT NULL,
  lo INTEGER NOT NULL,
  hi INTEGER NOT NULL,
  loaded_seq INTEGER,
  unloaded_seq INTEGER);
CREATE TABLE frames(
  id INTEGER PRIMARY KEY,
  module_id INTEGER REFERENCES modules(id),
  rel_pc INTEGER NOT NULL,
  function TEXT,
  file TEXT,
  line INTEGER,
  column INTEGER,
  frame_size INTEGER,
  dynamic_frame INTEGER,
  call_insn TEXT);
CREATE TABLE inline_frames(
  frame_id INTEGER NOT NULL REFERENCES frames(id),
  depth INTEGER NOT NULL,
  function TEXT,
  file TEXT,
  line INTEGER,
  column INTEGER,
  PRIMARY KEY(frame_id, depth)) WITHOUT ROWID;
CREATE TABLE stacks(
  id INTEGER PRIMARY KEY,
  parent INTEGER REFERENCES stacks(id),
  frame INTEGER NOT NULL REFERENCES frames(id));
CREATE TABLE event_log(
  seq INTEGER PRIMARY KEY,
  ts_ns INTEGER NOT NULL,
  thread INTEGER NOT NULL REFERENCES threads(id),
  op INTEGER NOT NULL REFERENCES ops(code),
  addr INTEGER NOT NULL,
  size INTEGER NOT NULL,
  arg INTEGER NOT NULL,
  stack INTEGER REFERENCES stacks(id),
  sp_depth INTEGER NOT NULL,
  free_after INTEGER);     -- allocation rows: seqs to the release that ended it
CREATE TABLE late_frees(   -- releases of allocations whose row was written first
  alloc_seq INTEGER PRIMARY KEY,
  free_seq INTEGER NOT NULL);
CREATE TABLE op_stats(
  op INTEGER PRIMARY KEY,  -- ops.code
  calls INTEGER NOT NULL,  -- events with this op
  bytes INTEGER NOT NULL); -- sum of their size column

-- CROSS JOIN pins event_log as the outer loop: a filter on pid must not
-- make the planner scan event_log once per thread.
CREATE VIEW events AS
  SELECT e.seq AS seq, e.ts_ns AS ts_ns, t.pid AS pid, t.tid AS tid, e.op AS op,
         e.addr AS addr, e.size AS size, e.arg AS arg, e.stack AS stack,
         e.sp_depth AS sp_depth, e.thread AS thread
  FROM event_log e CROSS JOIN threads t ON t.id = e.thread;

CREATE VIEW allocations AS
  SELECT a.seq AS id, ta.pid AS pid, a.addr AS addr, a.size AS size,
         CASE WHEN a.op IN (6, 7, 8, 24, 25, 26, 27) THEN a.arg ELSE 0 END AS align,
         a.op AS op, a.seq AS alloc_seq, f.seq AS free_seq, f.op AS free_op,
         a.stack AS alloc_stack, f.stack AS free_stack, ta.tid AS alloc_tid,
         tf.tid AS free_tid
  FROM event_log a
  CROSS JOIN threads ta ON ta.id = a.thread
  LEFT JOIN event_log f ON f.seq = )sql" ATR_SQL_FREE_SEQ("a") R"sql(
  LEFT JOIN threads tf ON tf.id = f.thread
  WHERE )sql" ATR_SQL_IS_ALLOCATION("a") R"sql(;
)sql";

// The op codes with alignment in `arg` (see the align column above).
static_assert(static_cast<int>(Op::kPosixMemalign) == 6 && static_cast<int>(Op::kAlignedAlloc) == 7 &&
              static_cast<int>(Op::kMemalign) == 8 && static_cast<int>(Op::kNewAligned) == 24 &&
              static_cast<int>(Op::kNewArrayAlignedNothrow) == 27);

const char* RoleName(OpRole r) {
  switch (r) {
    case OpRole::kAcquire: return "acquire";
    case OpRole::kRelease: return "release";
    case OpRole::kOther: return "other";
  }
  return "other";
}

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kMalloc: return "malloc";
    case Family::kNew: return "new";
    case Family::kNewArray: return "new[]";
    case Family::kMmap: return "mmap";
    case Family::kNone: return nullptr;
  }
  return nullptr;
}

}  // namespace

absl::Status CreateSchema(SqlDatabase& db) {
  ATR_RETURN_IF_ERROR(db.Exec("BEGIN", "creating the schema"));
  ATR_RETURN_IF_ERROR(db.Exec(kTables, "creating the schema"));
  ATR_ASSIGN_OR_RETURN(SqlStatement ops,
                       SqlStatement::Prepare(db, "INSERT INTO ops VALUES(?,?,?,?)", "filling ops"));
  for (int code = 0; code < kOpCount; ++code) {
    if (!IsKnownOp(static_cast<uint8_t>(code))) continue;
    OpInfo info = GetOpInfo(static_cast<Op>(code));
    ops.BindInt64(1, code);
    ops.BindText(2, info.name);
    ops.BindText(3, RoleName(info.role));
    if (const char* f = FamilyName(info.family)) ops.BindText(4, f); else ops.BindNull(4);
    ATR_RETURN_IF_ERROR(ops.Run());
  }
  ATR_RETURN_IF_ERROR(db.Exec(absl::StrCat("INSERT INTO meta VALUES('schema_version', '",
                                           kTraceSchemaVersion, "'), ('complete', '0')"),
                              "writing meta"));
  return db.Exec("COMMIT", "creating the schema");
}

absl::Status CheckSchemaVersion(std::string_view path, int version) {
  const std::string p(path);
  if (version < kTraceSchemaVersion) {
    // No migration: version 1 kept pairs in a table the online pass no
    // longer writes, and re-pairing a big trace costs what recording did.
    return absl::FailedPreconditionError(absl::StrCat(p, ": trace schema ", version,
                                                      " is older than this atr (",
                                                      kTraceSchemaVersion, "): record again"));
  }
  if (version > kTraceSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(p, ": trace schema version ", version, " is newer than this atr supports (",
                     kTraceSchemaVersion, "); use a newer atr"));
  }
  return absl::OkStatus();
}

absl::Status CheckSchemaVersion(const SqlDatabase& db, std::string_view path) {
  auto st = SqlStatement::Prepare(db, "SELECT value FROM meta WHERE key='schema_version'",
                                  "reading meta");
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(path), ": not an atr trace"));
  }
  ATR_ASSIGN_OR_RETURN(bool row, st->Step());
  int version = 0;
  if (!row || !absl::SimpleAtoi(st->ColumnText(0), &version) || version < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(path), ": not an atr trace (no valid schema_version)"));
  }
  return CheckSchemaVersion(path, version);
}

absl::Status CreateFinishIndexes(SqlDatabase& db) {
  // Small tables only: an index on event_log would cost ~15 bytes/event
  // (measured), more than the whole allocation table.
  return db.Exec(
      "CREATE INDEX IF NOT EXISTS frames_by_pc ON frames(module_id, rel_pc);"
      "CREATE INDEX IF NOT EXISTS modules_by_pid ON modules(pid);",
      "creating indexes");
}

}  // namespace atr::db_internal
