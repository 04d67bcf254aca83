// StackInterner: turns call stacks into ids of a frame table and a stack
// trie, the way the trace stores them (frames, stacks tables).
//
// A frame is a distinct (module id, ELF address) pair. A stack is a trie
// node (parent stack, frame) built from the outermost frame inwards, so
// stacks that share callers share nodes and a stack is named by its leaf.
// Ids are dense, start at 1 and are handed out in first-seen order, which
// makes them deterministic for a given input. New frames and nodes are
// reported through the sink exactly once, so the caller can write them.
//
//   StackInterner interner(&sink);
//   FrameId f = interner.InternFrame({module_id, rel_pc});
//   StackId s = interner.InternStack(frames_innermost_first);
#ifndef ATR_RECORDER_COLLECTOR_STACK_INTERNER_H_
#define ATR_RECORDER_COLLECTOR_STACK_INTERNER_H_

#include <cstdint>
#include <span>

#include "absl/container/flat_hash_map.h"

namespace atr {

using FrameId = int64_t;  // frames.id
using StackId = int64_t;  // stacks.id; 0 = the empty stack (no frames)

class StackSink {
 public:
  virtual ~StackSink() = default;
  virtual void OnNewFrame(FrameId id, int64_t module_id, uint64_t rel_pc) = 0;
  // parent 0 means the node is an outermost frame.
  virtual void OnNewStackNode(StackId id, StackId parent, FrameId frame) = 0;
};

class StackInterner {
 public:
  explicit StackInterner(StackSink* sink) : sink_(sink) {}

  FrameId InternFrame(int64_t module_id, uint64_t rel_pc);
  // REQUIRES: frames innermost first (as unwinders produce them).
  StackId InternStack(std::span<const FrameId> innermost_first);
  // One step of InternStack: the stack `parent` called from one frame
  // deeper (parent 0: an outermost frame). For callers that follow a call
  // path push by push (--stack-ops).
  StackId InternChild(StackId parent, FrameId frame);

  size_t frame_count() const { return frames_.size(); }
  size_t node_count() const { return nodes_.size(); }

 private:
  StackSink* sink_;
  absl::flat_hash_map<std::pair<int64_t, uint64_t>, FrameId> frames_;
  absl::flat_hash_map<std::pair<StackId, FrameId>, StackId> nodes_;
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_STACK_INTERNER_H_
