// The spool progress group (TableGroup::kSpoolProgress, docs/trace-format.md
// "Spool progress"): typed rows for the collector's checkpoints. Writes go
// through the collector's TraceWriter, in its current transaction, so they
// commit with the events they describe; reads through a TraceReader.
//
//   ATR_RETURN_IF_ERROR(writer.EnsureTables(TableGroup::kSpoolProgress));
//   ATR_RETURN_IF_ERROR(PutSpoolFile(writer, {.id = 1, .file = "42.0.spool", ...}));
//   ATR_RETURN_IF_ERROR(AddSpoolStack(writer, 1, hash, stack));
//   ...
//   ATR_ASSIGN_OR_RETURN(std::vector<SpoolFileRow> files, ReadSpoolFiles(reader));
#ifndef ATR_DB_SPOOL_PROGRESS_TABLE_H_
#define ATR_DB_SPOOL_PROGRESS_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/trace_reader.h"
#include "db/trace_rows.h"
#include "db/trace_writer.h"

namespace atr {

// One spool file's row of spool_progress.
struct SpoolFileRow {
  int64_t id = 0;                 // spool_stacks.file_id
  std::string file;               // name in the spool directory: <pid>.<n>.spool
  int32_t pid = 0;
  int32_t image = 0;
  uint64_t committed_offset = 0;  // bytes of whole chunks whose rows are committed
  uint64_t ref_tsc = 0;           // its ProcessRecord's clock pair ...
  int64_t ref_mono_ns = 0;
  int64_t tsc_hz = 0;             // ... and the TSC rate used for it
  int64_t first_module_row = 0;   // modules.id of its first module record
  bool terminated = false;        // its process_exit or exec event was read
};

// One row of spool_stacks: the stacks.id a file's stack hash names.
struct SpoolStackRow {
  int64_t file_id = 0;
  uint64_t hash = 0;
  StackId stack = 0;
};

// Inserts the row, or, for an id already stored, updates the two fields
// that change as the file is read (committed_offset, terminated).
// REQUIRES: the writer's trace has the group (TraceWriter::EnsureTables).
absl::Status PutSpoolFile(TraceWriter& writer, const SpoolFileRow& row);
// REQUIRES: (file_id, hash) not stored yet.
absl::Status AddSpoolStack(TraceWriter& writer, int64_t file_id, uint64_t hash, StackId stack);

// Every row, spool_progress by id; spool_stacks in no particular order.
// REQUIRES: reader.HasTable("spool_progress").
absl::StatusOr<std::vector<SpoolFileRow>> ReadSpoolFiles(const TraceReader& reader);
absl::StatusOr<std::vector<SpoolStackRow>> ReadSpoolStacks(const TraceReader& reader);

}  // namespace atr

#endif  // ATR_DB_SPOOL_PROGRESS_TABLE_H_
