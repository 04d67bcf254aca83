// SpoolProgress: how far each spool file is in the trace, kept in the trace
// itself, so that the collector can free the spool as it goes and
// `atr import` can still finish a trace whose collector died.
//
// The collector commits the trace only at checkpoints (the writer runs with
// commit_on_flush_only). A checkpoint writes, in the same transaction as the
// rows decoded from the spool since the previous one, one spool_progress row
// per file: the offset up to which every chunk is decoded and written, plus
// the per-file facts a reader of the rest of the file needs (the clock pair
// of its ProcessRecord, its first modules row); new stack hashes go to
// spool_stacks as they are defined. After the commit the collector punches
// the committed prefix out of the file (spool_dir.h). So at any moment the
// trace's committed rows are exactly what the spool lost, and ReadResumeState
// gives a collector everything it needs to continue from the offsets
// (Collector::Resume). Tables: docs/trace-format.md, "Spool progress".
//
//   ATR_ASSIGN_OR_RETURN(std::optional<ResumeState> s, ReadResumeState("run.db"));
//   if (s) collector.Resume(*s, "run.db.spool");
#ifndef ATR_RECORDER_COLLECTOR_SPOOL_PROGRESS_H_
#define ATR_RECORDER_COLLECTOR_SPOOL_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/spool_progress_table.h"
#include "db/trace_rows.h"
#include "db/trace_writer.h"

namespace atr {

// One spool file's row (db/spool_progress_table.h).
using SpoolFileProgress = SpoolFileRow;

// Everything committed that a collector needs to continue the trace.
struct ResumeState {
  int64_t start_mono_ns = 0;      // meta start_mono_ns: the trace's time zero
  std::vector<SpoolFileProgress> files;
  std::vector<std::vector<std::pair<uint64_t, int64_t>>> stacks;  // per file: hash, stack
  std::vector<FrameRow> frames;   // id, module_id, rel_pc only; by id
  std::vector<StackNodeRow> stack_nodes;  // by id
  std::vector<ModuleRow> modules;         // by id
  std::vector<ProcessRow> processes;      // key, seqs, ns and exit fields only
  std::vector<ThreadRow> threads;
  std::vector<StackId> event_stacks;      // distinct stacks named by heap events
  int64_t events = 0;
  int64_t acquisitions = 0;
  int64_t lost_events = 0;
  int64_t corrupt_chunks = 0;
  int64_t unknown_stacks = 0;
};

// Creates the tables, stores start_mono_ns in meta and commits: the first
// checkpoint, before anything is read. REQUIRES: a new trace.
absl::Status StartSpoolProgress(TraceWriter& writer, int64_t start_mono_ns);
// The checkpoint's rows, in the writer's transaction (PutSpoolFile and
// AddSpoolStack of db/spool_progress_table.h).
absl::Status WriteSpoolFileProgress(TraceWriter& writer, const SpoolFileProgress& p);
absl::Status WriteSpoolStack(TraceWriter& writer, int64_t file_id, uint64_t hash, StackId stack);

// nullopt: the trace has no spool_progress table (written without
// checkpoints, or by an older atr), so it cannot be continued.
absl::StatusOr<std::optional<ResumeState>> ReadResumeState(const std::string& trace_path);

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_SPOOL_PROGRESS_H_
