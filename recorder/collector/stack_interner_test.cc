#include "recorder/collector/stack_interner.h"

#include <gtest/gtest.h>

#include <vector>

namespace atr {
namespace {

struct RecordingSink : StackSink {
  std::vector<std::pair<int64_t, uint64_t>> frames;        // index = id - 1
  std::vector<std::pair<StackId, FrameId>> nodes;          // index = id - 1
  void OnNewFrame(FrameId id, int64_t module_id, uint64_t rel_pc) override {
    EXPECT_EQ(id, static_cast<FrameId>(frames.size()) + 1);
    frames.emplace_back(module_id, rel_pc);
  }
  void OnNewStackNode(StackId id, StackId parent, FrameId frame) override {
    EXPECT_EQ(id, static_cast<StackId>(nodes.size()) + 1);
    nodes.emplace_back(parent, frame);
  }
  // Walks a leaf back to the outermost frame: innermost first.
  std::vector<FrameId> Unwind(StackId s) const {
    std::vector<FrameId> out;
    for (; s != 0; s = nodes[s - 1].first) out.push_back(nodes[s - 1].second);
    return out;
  }
};

TEST(StackInternerTest, FramesAreDeduplicatedByModuleAndAddress) {
  RecordingSink sink;
  StackInterner interner(&sink);
  FrameId a = interner.InternFrame(1, 0x10);
  EXPECT_EQ(interner.InternFrame(1, 0x10), a);
  EXPECT_NE(interner.InternFrame(2, 0x10), a);
  EXPECT_EQ(sink.frames.size(), 2u);
}

TEST(StackInternerTest, StacksShareCallerPrefixesAndRoundTrip) {
  RecordingSink sink;
  StackInterner interner(&sink);
  const std::vector<FrameId> s1 = {5, 4, 3, 2, 1};  // innermost first
  const std::vector<FrameId> s2 = {6, 3, 2, 1};     // shares main->2->3
  StackId a = interner.InternStack(s1);
  StackId b = interner.InternStack(s2);
  EXPECT_EQ(interner.InternStack(s1), a);
  EXPECT_NE(a, b);
  EXPECT_EQ(sink.Unwind(a), s1);
  EXPECT_EQ(sink.Unwind(b), s2);
  EXPECT_EQ(sink.nodes.size(), 6u);  // 5 for s1, 1 new leaf for s2
  EXPECT_EQ(interner.InternStack({}), 0);
}

}  // namespace
}  // namespace atr
