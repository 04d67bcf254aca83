// FrameSink: the StackInterner's sink in the collector. Writes each new
// frame and stack node to the trace as the interner creates it (holding the
// shared writer's lock), and keeps the frames to symbolize, per module,
// for the finishing step.
//
// A write error does not stop the interner (it cannot return one): the
// first is kept until TakeStatus(), which the collector calls after every
// chunk. Not thread-safe: the collector's thread drives it.
//
//   FrameSink sink(&shared_writer);
//   StackInterner interner(&sink);
//   StackId s = interner.InternStack(frames);
//   ATR_RETURN_IF_ERROR(sink.TakeStatus());
#ifndef ATR_RECORDER_COLLECTOR_FRAME_SINK_H_
#define ATR_RECORDER_COLLECTOR_FRAME_SINK_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "recorder/collector/shared_trace_writer.h"
#include "recorder/collector/stack_interner.h"

namespace atr {

// A frame the finishing step should symbolize.
struct FrameToSymbolize {
  FrameId id;
  uint64_t rel_pc;
};

class FrameSink : public StackSink {
 public:
  explicit FrameSink(SharedTraceWriter* writer) : writer_(writer) {}

  void OnNewFrame(FrameId id, int64_t module_id, uint64_t rel_pc) override;
  void OnNewStackNode(StackId id, StackId parent, FrameId frame) override;

  // The first error noted since the last call, and clears it.
  absl::Status TakeStatus() { return std::exchange(status_, absl::OkStatus()); }
  void Note(absl::Status s) { status_.Update(s); }

  absl::flat_hash_map<int64_t, std::vector<FrameToSymbolize>> frames_by_module;
  bool restoring = false;  // frames and nodes fed back from the trace: not written again

 private:
  SharedTraceWriter* const writer_;
  absl::Status status_;
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_FRAME_SINK_H_
