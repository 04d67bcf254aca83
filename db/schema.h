// Creating, upgrading and checking the schema of a trace (version 2),
// internal to db/. The tables themselves are defined in db/table_defs.cc,
// by group (db/table_groups.h); docs/trace-format.md explains every table.
//
// Physical tables hold the compact form (events carry a small `thread` id
// instead of pid and tid; an allocation's release is a seq distance in its
// acquisition's row, `free_after`, or a late_frees row). The views
// `events` and `allocations` give the full, documented columns, so plain SQL
// in the sqlite3 shell reads naturally while the file stays small.
#ifndef ATR_DB_SCHEMA_H_
#define ATR_DB_SCHEMA_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "db/sqlite.h"
#include "db/table_groups.h"

namespace atr::db_internal {

// Page size of new traces: 16 KiB measured smallest and fastest for the
// events table (docs/benchmarks.md, "SQLite alone").
inline constexpr int kPageSize = 16384;

// Creates the kMeta and kRecording groups and the ops rows, and sets meta
// schema_version. REQUIRES: db is empty and not in a transaction.
absl::Status CreateSchema(SqlDatabase& db);

// The one upgrade path: creates the tables, views and indexes of `group`
// that db lacks and adds the columns the group gained since older files
// were written (LaterColumn, db/table_defs.h). Idempotent; runs in the
// caller's transaction when there is one (recommended: all or nothing).
absl::Status EnsureTableGroup(SqlDatabase& db, TableGroup group);

// One line naming `path` when a trace's schema_version is not the one this
// build reads and writes (older: record again; newer: a newer atr), else OK.
// REQUIRES: version >= 1.
absl::Status CheckSchemaVersion(std::string_view path, int version);
// The same for an open trace, reading meta.
absl::Status CheckSchemaVersion(const SqlDatabase& db, std::string_view path);

// Indexes built by Finish, after the bulk load (cheaper than maintaining
// them during inserts).
absl::Status CreateFinishIndexes(SqlDatabase& db);

// Tables every version-2 trace has; the reader checks them at open.
inline constexpr const char* kRequiredTables[] = {
    "meta",   "ops",    "processes",  "threads",   "modules",
    "frames", "inline_frames", "stacks", "event_log", "late_frees",
};

// Columns of event_log, in table order.
enum EventColumn {
  kSeq, kTs, kThread, kOp, kAddr, kSize, kArg, kStack, kSpDepth, kFreeAfter, kEventColumns
};
// Columns that store NULL for 0 (BatchInserter's null_if_zero).
inline constexpr uint32_t kEventNullIfZero = (1u << kStack) | (1u << kFreeAfter);

}  // namespace atr::db_internal

#endif  // ATR_DB_SCHEMA_H_
