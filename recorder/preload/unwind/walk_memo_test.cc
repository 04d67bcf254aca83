// The remembering walk against the plain walk from the same registers,
// through stacks that change between walks the way a program's do: the same
// depth under a different caller (equal registers at the leaf, different
// return addresses below it), deeper and shallower, recursion, frames with
// alloca (CFA from rbp, shifting every frame above), and caps that cut the
// walk. Every walk must give the plain walk's pcs, and the stack id built
// from the memo's partial sums must equal the id hashed from scratch.
// Built -O2 without frame pointers (unwind.cmake), like recorded programs.
#include "recorder/preload/unwind/walk_memo.h"

#include <alloca.h>

#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "recorder/preload/unwind/loaded_modules.h"
#include "recorder/preload/unwind/stack_hash.h"

namespace atr::unwind {
namespace {

constexpr uint32_t kCap = 160;

struct Probe {
  StackBounds bounds;
  WalkMemo* memo;
  uint32_t cap;
  // Results of the last walk from the leaf.
  WalkStatus plain_status = WalkStatus::kOk, memo_status = WalkStatus::kOk;
  std::vector<uint64_t> plain, remembered;
  std::vector<std::pair<uint64_t, uint64_t>> ids;  // (from the memo, from scratch)
};

// Both walks from the same registers: memory above here does not change
// between them (they run below this frame).
__attribute__((noinline)) void WalkBoth(Probe* p) {
  Registers here = CurrentRegisters();
  uint64_t a[kCap], b[kCap];
  uint32_t na = 0, nb = 0;
  p->plain_status = Walk(here, p->bounds.lo, p->bounds.hi, a, p->cap, &na);
  p->memo_status = WalkRemembered(here, p->bounds.lo, p->bounds.hi, b, p->cap, &nb, p->memo);
  p->plain.assign(a, a + na);
  p->remembered.assign(b, b + nb);
  p->ids.clear();
  if (p->memo_status != WalkStatus::kOk || nb == 0 || p->memo->count != nb) return;
  // Asked in the order the preload never uses too: deep first, then a
  // shallower one (extends the sums), then a cached one again.
  for (uint32_t from : {nb - 1, nb / 2, nb > 3 ? 3u : 0u, nb / 2, 0u}) {
    uint64_t id = FinishStackHash(RememberedSuffixSum(p->memo, from), nb - from);
    p->ids.emplace_back(id, HashStack(a + from, na - from));
  }
}

// One level of a planned stack per call: plan[i] picks the level's kind.
// Kinds 0 and 1 are the same code (equal frames) reached from different
// call sites; kind >= 2 allocas plan[i] * 16 bytes (a frame pointer frame).
__attribute__((noinline)) int Dispatch(const std::vector<int>& plan, size_t i, Probe* p);

template <int kTag>
__attribute__((noinline)) int Plain(const std::vector<int>& plan, size_t i, Probe* p) {
  volatile int keep = kTag;
  return Dispatch(plan, i + 1, p) + keep;
}

__attribute__((noinline)) int WithAlloca(const std::vector<int>& plan, size_t i, Probe* p) {
  auto* scratch = static_cast<volatile char*>(alloca(static_cast<size_t>(plan[i]) * 16));
  scratch[0] = static_cast<char>(i);
  return Dispatch(plan, i + 1, p) + scratch[0];
}

__attribute__((noinline)) int Dispatch(const std::vector<int>& plan, size_t i, Probe* p) {
  if (i == plan.size()) {
    WalkBoth(p);
    return 1;
  }
  switch (plan[i]) {
    case 0: return Plain<0>(plan, i, p) + 1;
    case 1: return Plain<1>(plan, i, p) + 2;
    default: return WithAlloca(plan, i, p) + 3;
  }
}

class WalkMemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { AddLoadedModules(); }
  void SetUp() override {
    frames_.resize(2 * kCap);
    InitWalkMemo(&memo_, frames_.data(), frames_.data() + kCap, kCap);
  }
  // Walks at the end of `plan` both ways.
  Probe Walked(const std::vector<int>& plan, uint32_t cap = kCap) {
    Probe p;
    p.bounds = ThisThreadStack();
    p.memo = &memo_;
    p.cap = cap;
    Dispatch(plan, 0, &p);
    return p;
  }
  // ... and checks they agree.
  void Run(const std::vector<int>& plan, uint32_t cap = kCap) {
    Probe p = Walked(plan, cap);
    ASSERT_EQ(p.plain_status, WalkStatus::kOk);
    ASSERT_EQ(p.memo_status, WalkStatus::kOk);
    EXPECT_EQ(p.remembered, p.plain) << Describe(plan, cap);
    EXPECT_EQ(memo_.count, p.plain.size());
    for (auto [from_memo, from_scratch] : p.ids) {
      EXPECT_EQ(from_memo, from_scratch) << Describe(plan, cap);
    }
  }
  static std::string Describe(const std::vector<int>& plan, uint32_t cap) {
    std::string s = "cap " + std::to_string(cap) + " plan";
    for (int v : plan) s += " " + std::to_string(v);
    return s;
  }
  std::vector<MemoFrame> frames_;
  WalkMemo memo_{};
};

TEST_F(WalkMemoTest, SameStackTwiceIsCopiedWhole) {
  std::vector<int> plan = {0, 1, 0, 1};
  uint64_t stepped = 0;
  volatile int times = 2;  // not unrolled: one call site, the same stack
  for (int i = 0; i < times; ++i) {
    stepped = memo_.frames_stepped;
    Run(plan);
  }
  EXPECT_EQ(memo_.frames_stepped, stepped);  // nothing stepped the second time
  EXPECT_EQ(memo_.frames_copied, memo_.count);
}

TEST_F(WalkMemoTest, SameDepthDifferentCaller) {
  Run({0, 0, 0, 0, 0});
  uint64_t copied = memo_.frames_copied;
  Run({0, 0, 1, 0, 0});  // same registers at the leaf, other return addresses
  EXPECT_GT(memo_.frames_copied, copied);
  Run({1, 0, 1, 0, 0});
  Run({1, 0, 1, 0, 1});
  Run({0, 0, 0, 0, 0});
}

TEST_F(WalkMemoTest, DeeperShallowerAndRecursion) {
  std::vector<int> plan;
  for (int d = 0; d < 30; ++d) {
    plan.push_back(d % 2);
    Run(plan);
  }
  while (!plan.empty()) {
    plan.pop_back();
    Run(plan);
  }
  for (int d : {1, 17, 3, 17, 17, 2, 25}) Run(std::vector<int>(static_cast<size_t>(d), 0));
  EXPECT_GT(memo_.frames_copied, memo_.frames_stepped);
}

TEST_F(WalkMemoTest, AllocaFramesShiftEverythingAbove) {
  Run({0, 5, 0, 0});
  Run({0, 6, 0, 0});  // frames above the alloca move, those below stay
  Run({0, 6, 0, 1});
  Run({0, 6, 7, 1});
  Run({0, 6, 7, 1});
}

TEST_F(WalkMemoTest, CapsCutTheWalk) {
  std::vector<int> plan(20, 0);
  for (uint32_t cap : {12u, 12u, 30u, 12u, 5u, kCap, 12u}) Run(plan, cap);
  plan.resize(10);
  for (uint32_t cap : {12u, 30u, 11u, 16u}) Run(plan, cap);
}

TEST_F(WalkMemoTest, RandomlyChangingStacks) {
  std::mt19937 rng(20261127);
  std::vector<int> plan;
  for (int step = 0; step < 3000; ++step) {
    switch (rng() % 6) {
      case 0: if (plan.size() < 40) plan.push_back(static_cast<int>(rng() % 4)); break;
      case 1: if (!plan.empty()) plan.pop_back(); break;
      case 2: if (!plan.empty()) plan[rng() % plan.size()] = static_cast<int>(rng() % 2); break;
      case 3: if (!plan.empty()) plan[rng() % plan.size()] = 2 + static_cast<int>(rng() % 6); break;
      default: break;  // the same stack again
    }
    uint32_t cap = rng() % 8 == 0 ? 4 + rng() % 40 : kCap;
    Run(plan, cap);
    if (HasFailure()) return;
  }
  EXPECT_GT(memo_.frames_copied, memo_.frames_stepped);
}

TEST_F(WalkMemoTest, ModuleChangesForgetTheMemo) {
  ObjectRange exe = MainExecutable();
  ASSERT_LT(exe.lo, exe.hi);
  std::vector<int> plan = {0, 1, 0};
  Run(plan);
  RemoveModule(exe.lo, exe.hi);
  Probe p = Walked(plan);
  EXPECT_EQ(p.plain_status, WalkStatus::kNoModule);
  EXPECT_EQ(p.memo_status, WalkStatus::kNoModule);  // not answered from the memo
  AddModule(exe.lo, exe.hi, exe.eh_frame_hdr);
  uint64_t stepped = memo_.frames_stepped;
  Run(plan);
  EXPECT_EQ(memo_.frames_stepped - stepped, memo_.count);  // walked afresh
}

TEST_F(WalkMemoTest, AnotherThreadsStack) {
  std::thread t([this] {
    Run({0, 1, 0});
    Run({0, 1, 1});
  });
  t.join();
  Run({0, 1, 0});  // the memo holds the other thread's stack: bounds differ
}

}  // namespace
}  // namespace atr::unwind
