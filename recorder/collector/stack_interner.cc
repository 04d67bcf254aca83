#include "recorder/collector/stack_interner.h"

namespace atr {

FrameId StackInterner::InternFrame(int64_t module_id, uint64_t rel_pc) {
  auto [it, inserted] = frames_.try_emplace({module_id, rel_pc}, 0);
  if (inserted) {
    it->second = static_cast<FrameId>(frames_.size());
    sink_->OnNewFrame(it->second, module_id, rel_pc);
  }
  return it->second;
}

StackId StackInterner::InternStack(std::span<const FrameId> innermost_first) {
  StackId node = 0;
  for (size_t i = innermost_first.size(); i-- > 0;) {
    auto [it, inserted] = nodes_.try_emplace({node, innermost_first[i]}, 0);
    if (inserted) {
      it->second = static_cast<StackId>(nodes_.size());
      sink_->OnNewStackNode(it->second, node, innermost_first[i]);
    }
    node = it->second;
  }
  return node;
}

StackId StackInterner::InternChild(StackId parent, FrameId frame) {
  auto [it, inserted] = nodes_.try_emplace({parent, frame}, 0);
  if (inserted) {
    it->second = static_cast<StackId>(nodes_.size());
    sink_->OnNewStackNode(it->second, parent, frame);
  }
  return it->second;
}

}  // namespace atr
