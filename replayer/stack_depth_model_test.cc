#include "replayer/stack_depth_model.h"

#include <gtest/gtest.h>

namespace atr {
namespace {

EventRow Ev(int64_t seq, int64_t ts, Op op, uint64_t fn, uint32_t depth, int32_t tid = 1) {
  return {.seq = seq, .ts_ns = ts, .pid = 1, .tid = tid, .op = op, .addr = fn, .stack = seq,
          .sp_depth = depth};
}

// main(0..100) -> f(10..60) -> g(20..30); g again (70..80) directly from main.
TEST(StackDepthModelTest, CallsInclusiveExclusiveAndDepth) {
  StackDepthModel m({.stack_size = 150});
  m.OnEvent(Ev(1, 0, Op::kFuncEnter, 0x100, 64));
  m.OnEvent(Ev(2, 10, Op::kFuncEnter, 0x200, 128));
  m.OnEvent(Ev(3, 20, Op::kFuncEnter, 0x300, 160));
  m.OnEvent(Ev(4, 25, Op::kMalloc, 0x9999, 200));
  m.OnEvent(Ev(5, 30, Op::kFuncExit, 0x300, 160));
  m.OnEvent(Ev(6, 60, Op::kFuncExit, 0x200, 128));
  m.OnEvent(Ev(7, 70, Op::kFuncEnter, 0x300, 96));
  m.OnEvent(Ev(8, 80, Op::kFuncExit, 0x300, 96));
  m.OnEvent(Ev(9, 100, Op::kFuncExit, 0x100, 64));
  m.Finish(100);
  ASSERT_EQ(m.functions().size(), 3u);
  const FunctionStackStats& main_fn = m.functions()[0];
  const FunctionStackStats& f = m.functions()[1];
  const FunctionStackStats& g = m.functions()[2];
  EXPECT_EQ(main_fn.calls, 1);
  EXPECT_EQ(main_fn.inclusive_ns, 100);
  EXPECT_EQ(main_fn.exclusive_ns, 100 - 50 - 10);
  EXPECT_EQ(f.inclusive_ns, 50);
  EXPECT_EQ(f.exclusive_ns, 40);
  EXPECT_EQ(g.calls, 2);
  EXPECT_EQ(g.inclusive_ns, 20);
  EXPECT_EQ(g.max_depth_inside, 200u);
  EXPECT_EQ(f.max_depth_inside, 200u);
  EXPECT_EQ(main_fn.max_depth_inside, 200u);
  ASSERT_EQ(m.threads().size(), 1u);
  const ThreadStackState& t = m.threads()[0];
  EXPECT_EQ(t.max.depth, 200u);
  EXPECT_EQ(t.max.seq, 4);
  EXPECT_EQ(t.max_frames, 3u);
  ASSERT_TRUE(t.overflow.has_value());
  EXPECT_EQ(t.overflow->seq, 3);  // the first event deeper than 150 bytes
  EXPECT_EQ(m.unmatched_exits(), 0);
}

TEST(StackDepthModelTest, RecursionAndSkippedExits) {
  StackDepthModel m;
  for (int i = 0; i < 5; ++i) m.OnEvent(Ev(1 + i, i, Op::kFuncEnter, 0x10, 100 + 32 * i));
  m.OnEvent(Ev(6, 6, Op::kFuncEnter, 0x20, 400));
  // A longjmp skipped 0x20's exit and three of 0x10's: the next exit of 0x10
  // closes the nearest one and the skipped frame above it.
  m.OnEvent(Ev(7, 7, Op::kFuncExit, 0x10, 164));
  m.OnEvent(Ev(8, 8, Op::kFuncExit, 0x99, 164));  // never entered
  m.Finish(10);
  EXPECT_EQ(m.functions()[0].calls, 5);
  EXPECT_EQ(m.functions()[0].max_recursion, 5u);
  EXPECT_EQ(m.functions()[0].unfinished, 4);
  EXPECT_EQ(m.functions()[1].unfinished, 0);
  EXPECT_EQ(m.unmatched_exits(), 1);
}

TEST(StackDepthModelTest, SampledDepthOnlyAndPerThread) {
  StackDepthModel m({.stack_size = 1000, .timeline_start_ns = 0, .timeline_end_ns = 100,
                .timeline_buckets = 10});
  m.OnEvent(Ev(1, 5, Op::kMalloc, 0, 500, 1));
  m.OnEvent(Ev(2, 55, Op::kMalloc, 0, 1500, 2));
  m.OnEvent(Ev(3, 95, Op::kFree, 0, 700, 1));
  EXPECT_FALSE(m.saw_func_events());
  ASSERT_EQ(m.threads().size(), 2u);
  EXPECT_EQ(m.threads()[0].max.depth, 700u);
  EXPECT_FALSE(m.threads()[0].overflow.has_value());
  ASSERT_TRUE(m.threads()[1].overflow.has_value());
  EXPECT_EQ(m.threads()[1].overflow->seq, 2);
  EXPECT_EQ(m.threads()[0].timeline[0], 500u);
  EXPECT_EQ(m.threads()[0].timeline[9], 700u);
  EXPECT_EQ(m.threads()[1].timeline[5], 1500u);
}

}  // namespace
}  // namespace atr
