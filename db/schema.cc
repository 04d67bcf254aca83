#include "db/schema.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/ops.h"
#include "db/table_defs.h"
#include "db/trace_rows.h"

namespace atr::db_internal {
namespace {

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

absl::Status EnsureTableGroup(SqlDatabase& db, TableGroup group) {
  const std::string what = absl::StrCat("creating the ", TableGroupName(group), " tables");
  for (const SchemaObject& o : GroupObjects(group)) {
    ATR_RETURN_IF_ERROR(db.Exec(CreateStatement(o), what));
    for (const LaterColumn& c : o.later_columns) {
      ATR_ASSIGN_OR_RETURN(bool has, db.HasColumn(o.name, c.name));
      if (has) continue;
      ATR_RETURN_IF_ERROR(
          db.Exec(absl::StrCat("ALTER TABLE ", o.name, " ADD COLUMN ", c.name, " ", c.decl),
                  absl::StrCat("adding ", o.name, ".", c.name)));
    }
  }
  return absl::OkStatus();
}

absl::Status CreateSchema(SqlDatabase& db) {
  ATR_RETURN_IF_ERROR(db.Exec("BEGIN", "creating the schema"));
  ATR_RETURN_IF_ERROR(EnsureTableGroup(db, TableGroup::kMeta));
  ATR_RETURN_IF_ERROR(EnsureTableGroup(db, TableGroup::kRecording));
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
