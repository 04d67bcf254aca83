// The table walk on this test binary's own compiled frames (built -O2
// without frame pointers, see unwind.cmake), through libc and libstdc++
// callbacks, on the main thread and another thread, against libunwind's
// unw_backtrace for the same stack.
#include "recorder/preload/unwind/table_unwinder.h"

#include "recorder/preload/unwind/loaded_modules.h"

#include <alloca.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>

#include <libunwind.h>

#include <algorithm>
#include <functional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace atr::unwind {
namespace {

constexpr uint32_t kCap = 128;

using Bounds = StackBounds;

// What both unwinders saw from one leaf.
struct Stacks {
  WalkStatus status = WalkStatus::kOk;
  std::vector<uint64_t> table, libunwind;
};

// Walks from here and runs unw_backtrace from here; drops each one's first
// entry (a pc inside this function: exact for the walk, the return address
// from unw_backtrace for libunwind), so the rest must be identical.
__attribute__((noinline)) void CaptureBoth(Stacks* out, Bounds b) {
  uint64_t pcs[kCap];
  uint32_t n = 0;
  out->status = Walk(CurrentRegisters(), b.lo, b.hi, pcs, kCap, &n);
  void* ref[kCap];
  int m = unw_backtrace(ref, kCap);
  out->table.assign(pcs + std::min(n, 1u), pcs + n);
  for (int i = 1; i < m; ++i) out->libunwind.push_back(reinterpret_cast<uint64_t>(ref[i]));
}

// Frame shapes: a plain recursion, a frame with alloca (CFA from rbp), a
// big frame, and callbacks from libc's qsort and std::sort.
__attribute__((noinline)) void Leaf(Stacks* out, Bounds b) {
  CaptureBoth(out, b);
  asm volatile("");
}

__attribute__((noinline)) int Recurse(int depth, Stacks* out, Bounds b);

__attribute__((noinline)) int WithAlloca(int depth, Stacks* out, Bounds b) {
  auto* scratch = static_cast<volatile char*>(alloca(static_cast<size_t>(depth) * 24 + 8));
  scratch[0] = static_cast<char>(depth);
  return Recurse(depth - 1, out, b) + scratch[0];
}

__attribute__((noinline)) int BigFrame(int depth, Stacks* out, Bounds b) {
  volatile char big[100000];
  big[depth] = 1;
  return Recurse(depth - 1, out, b) + big[depth];
}

Stacks* g_sort_out;
Bounds g_sort_bounds;

int CompareAndCapture(const void* a, const void* c) {
  if (g_sort_out != nullptr) {
    Leaf(g_sort_out, g_sort_bounds);
    g_sort_out = nullptr;
  }
  return *static_cast<const int*>(a) - *static_cast<const int*>(c);
}

__attribute__((noinline)) int ThroughQsort(Stacks* out, Bounds b) {
  int v[] = {3, 1, 2};
  g_sort_out = out;
  g_sort_bounds = b;
  qsort(v, 3, sizeof(int), &CompareAndCapture);
  return v[0];
}

__attribute__((noinline)) int ThroughStdFunction(int depth, Stacks* out, Bounds b) {
  std::function<int(int)> f = [&](int d) { return Recurse(d, out, b); };
  return f(depth - 1) + 1;
}

__attribute__((noinline)) int Recurse(int depth, Stacks* out, Bounds b) {
  if (depth <= 0) return ThroughQsort(out, b);
  switch (depth % 4) {
    case 0: return WithAlloca(depth, out, b) + 1;
    case 1: return BigFrame(depth, out, b) + 2;
    case 2: return ThroughStdFunction(depth, out, b) + 3;
    default: return Recurse(depth - 1, out, b) + 4;
  }
}

Stacks CaptureAtDepth(int depth) {
  Stacks s;
  Recurse(depth, &s, ThisThreadStack());
  return s;
}

class TableUnwinder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { AddLoadedModules(); }
};

TEST_F(TableUnwinder, MatchesLibunwindOnMainThread) {
  for (int depth : {0, 1, 5, 15}) {
    Stacks s = CaptureAtDepth(depth);
    ASSERT_EQ(s.status, WalkStatus::kOk) << depth;
    EXPECT_GE(s.table.size(), static_cast<size_t>(depth) + 4);
    EXPECT_EQ(s.table, s.libunwind) << "depth " << depth;
  }
}

TEST_F(TableUnwinder, MatchesLibunwindOnAnotherThread) {
  Stacks s;
  std::thread t([&] { s = CaptureAtDepth(12); });
  t.join();
  ASSERT_EQ(s.status, WalkStatus::kOk);
  EXPECT_EQ(s.table, s.libunwind);
}

TEST_F(TableUnwinder, SecondWalkUsesCachedRulesAndAgrees) {
  Stacks s[2];
  for (Stacks& one : s) one = CaptureAtDepth(9);  // one call site: same stack
  ASSERT_EQ(s[1].status, WalkStatus::kOk);
  EXPECT_EQ(s[0].table, s[1].table);
  EXPECT_EQ(s[1].table, s[1].libunwind);
}

TEST_F(TableUnwinder, StopsAtCap) {
  Bounds b = ThisThreadStack();
  uint64_t pcs[3];
  uint32_t n = 0;
  ASSERT_EQ(Walk(CurrentRegisters(), b.lo, b.hi, pcs, 3, &n), WalkStatus::kOk);
  EXPECT_EQ(n, 3u);
}

TEST_F(TableUnwinder, NeverReadsOutsideTheGivenStack) {
  Bounds b = ThisThreadStack();
  uint64_t pcs[kCap];
  uint32_t n = 0;
  // A stack "ending" just above this frame: the walk must stop, not read on.
  Registers here = CurrentRegisters();
  EXPECT_EQ(Walk(here, b.lo, here.sp + 16, pcs, kCap, &n), WalkStatus::kOutsideStack);
  EXPECT_EQ(Walk(here, 0, 0, pcs, kCap, &n), WalkStatus::kOutsideStack);
}

TEST_F(TableUnwinder, PcOutsideEveryModuleFallsBack) {
  Bounds b = ThisThreadStack();
  uint64_t pcs[kCap];
  uint32_t n = 0;
  Registers fake = CurrentRegisters();
  fake.pc = 0x10000;  // nothing is mapped there
  EXPECT_EQ(Walk(fake, b.lo, b.hi, pcs, kCap, &n), WalkStatus::kNoModule);
}

TEST_F(TableUnwinder, RemovedModuleFallsBackUntilAddedAgain) {
  ObjectRange exe = MainExecutable();
  uint64_t lo = exe.lo, hi = exe.hi;
  ASSERT_LT(lo, hi);
  ASSERT_EQ(CaptureAtDepth(3).status, WalkStatus::kOk);  // rules now cached
  RemoveModule(lo, hi);
  EXPECT_EQ(CaptureAtDepth(3).status, WalkStatus::kNoModule);
  AddModule(lo, hi, exe.eh_frame_hdr);
  Stacks again = CaptureAtDepth(3);
  EXPECT_EQ(again.status, WalkStatus::kOk);
  EXPECT_EQ(again.table, again.libunwind);
}

}  // namespace
}  // namespace atr::unwind
