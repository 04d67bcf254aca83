// The tables of an atr file, in named groups. db/ defines every one of them
// (db/table_defs.cc) and is the only place that creates or upgrades them;
// other components name the group they write and db/ makes sure it is there:
//
//   group                 tables                              created by
//   kMeta                 meta                                every trace; a standalone sites file
//   kRecording            ops, processes, threads, modules,   TraceWriter::Create
//                         frames, inline_frames, stacks,
//                         event_log, late_frees, op_stats,
//                         views events and allocations
//   kAllocationResults    stack_stats                         the allocation pass (Finish)
//   kReplay               replays, replay_samples,            atr replay / compare / whatif
//                         replay_spans, replay_blame,
//                         replay_problems
//   kStackDepthReplay     replay_stack_threads                atr replay --stack-size
//   kSourceSites          sites, site_matches                 atr sites
//   kSpoolProgress        spool_progress, spool_stacks        the collector (atr record / import)
//
// Ensuring a group on a file (TraceWriter::EnsureTables, TableTransaction)
// creates what it lacks and adds the columns the group gained after older
// files were written (replays.counterfactual), so writers always find the
// current layout. None of this changes the schema version: adding a table
// or a column never does (docs/trace-format.md, "Versioning").
//
// Readers open traces read-only and cannot upgrade them; a column that may
// be missing from an older file is read through ColumnOrNull:
//
//   ATR_ASSIGN_OR_RETURN(std::string cf, ColumnOrNull(reader, "replays", "counterfactual"));
//   QueryCursor::Run(reader, absl::StrCat("SELECT id, ", cf, " FROM replays"));
#ifndef ATR_DB_TABLE_GROUPS_H_
#define ATR_DB_TABLE_GROUPS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace atr {

class TraceReader;

enum class TableGroup {
  kMeta,
  kRecording,
  kAllocationResults,
  kReplay,
  kStackDepthReplay,
  kSourceSites,
  kSpoolProgress,
};
inline constexpr TableGroup kAllTableGroups[] = {
    TableGroup::kMeta,        TableGroup::kRecording,        TableGroup::kAllocationResults,
    TableGroup::kReplay,      TableGroup::kStackDepthReplay, TableGroup::kSourceSites,
    TableGroup::kSpoolProgress,
};

// "replay", "source sites", ...: for messages ("creating the replay tables").
const char* TableGroupName(TableGroup group);

// `column` when the reader's `table` has it, else "NULL": for selecting a
// column that an older file may lack (one that the group gained later).
// Columns every file has come back as they are, without a look-up.
// REQUIRES: `table` exists in the trace (check TraceReader::HasTable).
absl::StatusOr<std::string> ColumnOrNull(const TraceReader& reader, std::string_view table,
                                         std::string_view column);

}  // namespace atr

#endif  // ATR_DB_TABLE_GROUPS_H_
