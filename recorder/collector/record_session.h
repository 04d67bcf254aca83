// RecordSession: `atr record` — runs a command under the preload library and
// collects its spool into a trace while it runs.
//
//   RecordOptions o{.output = "run.db", .command = {"./server", "--port", "8080"}};
//   absl::StatusOr<RecordOutcome> r = Record(o);
//   // r->exit_code is the command's status (128+N if signal N killed it)
//
// The spool lives in "<output>.spool/" next to the trace; what the trace has
// committed is freed from it as the command runs (hole punching), and the
// rest is removed once the trace is complete. If the collector dies,
// `atr import <output>.spool` continues the trace from the committed
// offsets (docs/recorder.md, "Disk").
#ifndef ATR_RECORDER_COLLECTOR_RECORD_SESSION_H_
#define ATR_RECORDER_COLLECTOR_RECORD_SESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "recorder/collector/collector.h"

namespace atr {

struct RecordOptions {
  std::string output;                 // trace file to create
  std::vector<std::string> command;   // argv of the program to run
  std::string unwind = "table";   // table | libunwind | fp | none
  int max_depth = 64;                 // frames per stack
  bool free_stacks = true;            // record stacks of releases too
  bool stack_ops = false;             // function enter/exit (-finstrument-functions
                                      // programs); stacks from the shadow stack
  bool overwrite = false;             // replace an existing output file
  bool progress = false;              // show progress on stderr (a terminal)
  bool symbolize = true;              // symbolize frames when finishing
  std::string preload_path;           // libatr_preload.so; empty = next to atr
};

struct RecordOutcome {
  int exit_code = 0;                  // what `atr record` exits with
  CollectorStats stats;
  int64_t file_bytes = 0;             // size of the finished trace
};

absl::StatusOr<RecordOutcome> Record(const RecordOptions& options);

// Where the preload library is: $ATR_PRELOAD, else next to the running atr
// binary (build tree: bin/../lib; installed: bin/../lib/atr).
absl::StatusOr<std::string> FindPreloadLibrary();

// Default output name: atr.<basename of cmd>.<pid>.db
std::string DefaultOutputName(const std::string& command, int pid);

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_RECORD_SESSION_H_
