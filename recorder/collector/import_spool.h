// ImportSpool: `atr import` — finishes a trace from spool files on disk,
// written by the preload library without a collector (LD_PRELOAD used
// alone) or left by a collector that died.
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
};

absl::StatusOr<ImportOutcome> ImportSpool(const ImportOptions& options);

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_IMPORT_SPOOL_H_
