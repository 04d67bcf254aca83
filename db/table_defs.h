// The definition of every table, view and index of an atr file, by group
// (db/table_groups.h), internal to db/. docs/trace-format.md explains every
// column; keep the two in step.
//
// Each object is created as "CREATE <kind> IF NOT EXISTS <name><definition>".
// SQLite stores that statement without "IF NOT EXISTS", so sqlite_schema
// holds the same text as in files written before the groups existed.
//
// A column added to a table after files with that table were written is
// in the table's definition (new files get it on creation) and in its
// later_columns (older files get it from EnsureTableGroup, db/schema.h):
// appending to that list is how a group gains a column. Such a column must
// be nullable or have a default, as ALTER TABLE ADD COLUMN requires.
#ifndef ATR_DB_TABLE_DEFS_H_
#define ATR_DB_TABLE_DEFS_H_

#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "db/table_groups.h"

namespace atr::db_internal {

enum class SchemaObjectKind { kTable, kView, kIndex };

struct LaterColumn {
  const char* name;  // "counterfactual"
  const char* decl;  // "TEXT": type and constraints, as in the definition
};

struct SchemaObject {
  SchemaObjectKind kind;
  const char* name;
  const char* definition;  // the statement after the name: "(id INTEGER ...)"
  absl::Span<const LaterColumn> later_columns = {};  // tables only
};

// The objects of `group` in creation order (a table before the views and
// indexes over it).
absl::Span<const SchemaObject> GroupObjects(TableGroup group);

// "CREATE TABLE IF NOT EXISTS replays(...)".
std::string CreateStatement(const SchemaObject& object);

// The later column `column` of `table` in any group; nullptr when `column`
// is not one (every file with the table has it, or it is unknown).
const LaterColumn* FindLaterColumn(std::string_view table, std::string_view column);

}  // namespace atr::db_internal

#endif  // ATR_DB_TABLE_DEFS_H_
