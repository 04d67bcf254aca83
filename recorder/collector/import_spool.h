// ImportSpool: `atr import` — finishes a trace from spool files on disk,
// written by the preload library without a collector (LD_PRELOAD used
// alone) or left by a collector that died. In the second case the output
// (by default the dead collector's trace) is continued from the spool
// offsets it committed (spool_progress.h), whatever `overwrite` says: the
// spool's committed start may already be freed, so only that trace has it.
//
//   absl::StatusOr<ImportOutcome> r = ImportSpool({.spool_dir = "run.db.spool"});
#ifndef ATR_RECORDER_COLLECTOR_IMPORT_SPOOL_H_
#define ATR_RECORDER_COLLECTOR_IMPORT_SPOOL_H_

#include <string>

#include "absl/status/statusor.h"
#include "recorder/collector/collector.h"

namespace atr {

struct ImportOptions {
  std::string spool_dir;
  std::string output;      // empty: spool_dir without ".spool" (or + ".db")
  bool overwrite = false;
  bool keep_spool = false;
  bool progress = false;
};

struct ImportOutcome {
  std::string output;
  CollectorStats stats;
  int64_t file_bytes = 0;
  bool continued = false;  // an unfinished trace was continued
};

absl::StatusOr<ImportOutcome> ImportSpool(const ImportOptions& options);

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_IMPORT_SPOOL_H_
