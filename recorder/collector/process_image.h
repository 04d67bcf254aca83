// ProcessImage: what the collector keeps per spool file it follows. One
// spool file holds one process image (a process, or what it became after
// an exec): its reader, how far the trace holds it (committed) and how much
// of it was punched out (freed, <= committed), its clock reference, its
// module map and the stack hashes it defined. Internal to the collector.
#ifndef ATR_RECORDER_COLLECTOR_PROCESS_IMAGE_H_
#define ATR_RECORDER_COLLECTOR_PROCESS_IMAGE_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "db/trace_rows.h"
#include "recorder/collector/module_map.h"
#include "recorder/collector/stack_interner.h"
#include "recorder/collector/tsc_clock.h"
#include "recorder/spool_reader.h"

namespace atr {

struct ProcessImage {
  std::string path;
  SpoolFileReader reader;
  int64_t file_id = 0;         // spool_progress.id
  uint64_t committed = 0;      // spool_progress.committed_offset
  uint64_t freed = 0;          // bytes [0, freed) punched out of the file
  int64_t first_module_row = 0;
  bool started = false;        // ProcessRecord seen
  bool terminated = false;     // its process_exit or exec event seen
  int32_t pid = 0;
  ProcessRow row;              // what the trace's processes table gets
  uint64_t ref_tsc = 0;        // clock reference pair of its ProcessRecord
  int64_t ref_mono_ns = 0;
  TscClock clock;
  ModuleMap modules;
  absl::flat_hash_map<uint64_t, StackId> stacks_by_hash;  // this image's hashes
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_PROCESS_IMAGE_H_
