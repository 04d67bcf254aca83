// The SQL of trace schema version 1, internal to db/. docs/trace-format.md
// explains every table; keep the two in step.
//
// Physical tables hold the compact form (events carry a small `thread` id
// instead of pid and tid; allocations are stored as seq pairs). The views
// `events` and `allocations` give the full, documented columns, so plain SQL
// in the sqlite3 shell reads naturally while the file stays small.
#ifndef ATR_DB_SCHEMA_H_
#define ATR_DB_SCHEMA_H_

#include "absl/status/status.h"
#include "db/sqlite.h"

namespace atr::db_internal {

// Page size of new traces: 16 KiB measured smallest and fastest for the
// events table (DEPENDENCIES.md).
inline constexpr int kPageSize = 16384;

// Creates every table, view and the ops rows, and sets meta schema_version.
// REQUIRES: db is empty and not in a transaction.
absl::Status CreateSchema(SqlDatabase& db);

// Indexes built by Finish, after the bulk load (cheaper than maintaining
// them during inserts).
absl::Status CreateFinishIndexes(SqlDatabase& db);

// Tables every version-1 trace has; the reader checks them at open.
inline constexpr const char* kRequiredTables[] = {
    "meta",   "ops",    "processes",  "threads",         "modules",
    "frames", "inline_frames", "stacks", "event_log", "allocation_pairs",
};

}  // namespace atr::db_internal

#endif  // ATR_DB_SCHEMA_H_
