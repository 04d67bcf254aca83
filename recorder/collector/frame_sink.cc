#include "recorder/collector/frame_sink.h"

namespace atr {

void FrameSink::OnNewFrame(FrameId id, int64_t module_id, uint64_t rel_pc) {
  if (!restoring) {
    absl::MutexLock l(&writer_->mu);
    Note(writer_->writer->PutFrame({.id = id, .module_id = module_id, .rel_pc = rel_pc}));
  }
  if (module_id != 0) frames_by_module[module_id].push_back({id, rel_pc});
}

void FrameSink::OnNewStackNode(StackId id, StackId parent, FrameId frame) {
  if (restoring) return;
  absl::MutexLock l(&writer_->mu);
  Note(writer_->writer->AddStackNode({.id = id, .parent = parent, .frame = frame}));
}

}  // namespace atr
