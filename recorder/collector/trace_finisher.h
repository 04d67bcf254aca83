// FinishTrace: the last step of `atr record` and `atr import`. Writes the
// trace-level meta keys, symbolizes every frame the collector saw with
// LLVM's symbolizer (cached per module and address; frames that cannot be
// resolved keep module + address), then lets the writer pair allocations,
// build indexes and mark the trace complete.
#ifndef ATR_RECORDER_COLLECTOR_TRACE_FINISHER_H_
#define ATR_RECORDER_COLLECTOR_TRACE_FINISHER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "db/trace_writer.h"
#include "recorder/collector/collector.h"

namespace atr {

// What the trace's meta says about the recording as a whole. Zero and
// empty fields are unknown and not written (`atr import` does not know when
// the recording started; a continued trace keeps what `atr record` wrote).
struct TraceStart {
  int64_t start_mono_ns = 0;
  int64_t start_real_ns = 0;
  int64_t end_mono_ns = 0;
  int64_t end_real_ns = 0;
  std::vector<std::string> argv;   // the recorded command
  std::string unwinder;
  bool complete = true;            // false: the target or collector was killed
};

struct FinishOptions {
  bool symbolize = true;
  bool progress = false;  // a progress line on stderr while symbolizing
};

// The keys known when the command starts (argv, start time, unwinder), so a
// trace whose collector dies still has them.
absl::Status WriteStartMeta(TraceWriter& writer, const TraceStart& start);

absl::Status FinishTrace(TraceWriter& writer, Collector& collector, const TraceStart& start,
                         const FinishOptions& options);

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_TRACE_FINISHER_H_
