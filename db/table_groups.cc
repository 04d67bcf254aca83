#include "db/table_groups.h"

#include "absl/strings/str_cat.h"
#include "db/query.h"
#include "db/trace_reader.h"
#include "db/sqlite.h"
#include "db/table_defs.h"

namespace atr {

const char* TableGroupName(TableGroup group) {
  switch (group) {
    case TableGroup::kMeta: return "meta";
    case TableGroup::kRecording: return "recording";
    case TableGroup::kAllocationResults: return "allocation results";
    case TableGroup::kReplay: return "replay";
    case TableGroup::kStackDepthReplay: return "stack-depth replay";
    case TableGroup::kSourceSites: return "source sites";
    case TableGroup::kSpoolProgress: return "spool progress";
  }
  return "unknown";
}

absl::StatusOr<std::string> ColumnOrNull(const TraceReader& reader, std::string_view table,
                                         std::string_view column) {
  const db_internal::LaterColumn* later = db_internal::FindLaterColumn(table, column);
  if (later == nullptr) return std::string(column);
  // The reader is query-only: QueryCursor is its way to SQL. Names come
  // from the table definitions, so quoting them as literals is safe.
  ATR_ASSIGN_OR_RETURN(QueryCursor q,
                       QueryCursor::Run(reader, absl::StrCat("SELECT 1 FROM pragma_table_info('",
                                                             std::string(table), "') WHERE name = '",
                                                             later->name, "'")));
  const bool has = q.Next();
  if (!q.status().ok()) return q.status();
  return has ? std::string(column) : std::string("NULL");
}

}  // namespace atr
