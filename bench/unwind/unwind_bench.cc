// Cost of one stack capture ~15 frames deep, in-process, by unwinder:
// frame-pointer walk, libunwind's unw_backtrace, and the table walk of
// recorder/preload/unwind/ (rules cached after the first iteration, which
// is what a recording sees after warm-up), plain or remembering the last
// walk (walk_memo.h), each with the stack id the preload computes. The
// *Alternating variants capture from two call sites in turn, as a
// program's malloc and free do (the innermost frames differ every time).
// Built -O2 with frame pointers so that all walk the same frames; the
// "frames" counter says how many.
#include <pthread.h>

#include <libunwind.h>

#include <cstdint>

#include "benchmark/benchmark.h"
#include "recorder/preload/unwind/loaded_modules.h"
#include "recorder/preload/unwind/stack_hash.h"
#include "recorder/preload/unwind/table_unwinder.h"
#include "recorder/preload/unwind/walk_memo.h"

namespace {

constexpr int kDepth = 15;  // frames of ours below the capture; benchmark's own add ~6
constexpr uint32_t kCap = 128;

uint64_t g_stack_lo, g_stack_hi;

void SetUp() {
  static bool done = false;
  if (done) return;
  done = true;
  atr::unwind::AddLoadedModules();
  pthread_attr_t attr;
  pthread_getattr_np(pthread_self(), &attr);
  void* addr;
  size_t size;
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  g_stack_lo = reinterpret_cast<uint64_t>(addr);
  g_stack_hi = g_stack_lo + size;
}

__attribute__((noinline)) uint32_t FramePointers(uint64_t* pcs) {
  auto fp = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  uint32_t n = 0;
  while (n < kCap && fp >= g_stack_lo && fp + 16 <= g_stack_hi) {
    const auto* frame = reinterpret_cast<const uint64_t*>(fp);
    if (frame[1] < 4096) break;
    pcs[n++] = frame[1];
    if (frame[0] <= fp) break;
    fp = frame[0];
  }
  return n;
}

__attribute__((noinline)) uint32_t Libunwind(uint64_t* pcs) {
  int n = unw_backtrace(reinterpret_cast<void**>(pcs), kCap);
  return n > 0 ? static_cast<uint32_t>(n) : 0;
}

__attribute__((noinline)) uint32_t Table(uint64_t* pcs) {
  uint32_t n = 0;
  atr::unwind::Walk(atr::unwind::CurrentRegisters(), g_stack_lo, g_stack_hi, pcs, kCap, &n);
  return n;
}

constexpr uint32_t kSkip = 3;  // as the preload drops its own frames
atr::unwind::MemoFrame g_memo_frames[2][kCap];
atr::unwind::WalkMemo g_memo;

__attribute__((noinline)) uint32_t TableHashed(uint64_t* pcs) {
  uint32_t n = 0;
  atr::unwind::Walk(atr::unwind::CurrentRegisters(), g_stack_lo, g_stack_hi, pcs, kCap, &n);
  benchmark::DoNotOptimize(atr::unwind::HashStack(pcs + kSkip, n - kSkip));
  return n;
}

__attribute__((noinline)) uint32_t Remembered(uint64_t* pcs) {
  uint32_t n = 0;
  atr::unwind::WalkRemembered(atr::unwind::CurrentRegisters(), g_stack_lo, g_stack_hi, pcs, kCap,
                              &n, &g_memo);
  benchmark::DoNotOptimize(atr::unwind::FinishStackHash(
      atr::unwind::RememberedSuffixSum(&g_memo, kSkip), n - kSkip));
  return n;
}

using Capture = uint32_t (*)(uint64_t*);

// Two call sites of `capture`, with different frames above the leaf.
__attribute__((noinline)) uint32_t SiteA(uint64_t* pcs, Capture capture) {
  uint32_t n = capture(pcs);
  benchmark::ClobberMemory();
  return n;
}
__attribute__((noinline)) uint32_t SiteB(uint64_t* pcs, Capture capture) {
  volatile uint64_t pad[4] = {0, 1, 2, 3};
  uint32_t n = capture(pcs) + static_cast<uint32_t>(pad[0]);
  benchmark::ClobberMemory();
  return n;
}

bool g_alternate = false;

__attribute__((noinline)) void Leaf(benchmark::State& state, Capture capture) {
  uint64_t pcs[kCap];
  uint32_t frames = 0;
  atr::unwind::InitWalkMemo(&g_memo, g_memo_frames[0], g_memo_frames[1], kCap);
  bool b = false;
  for (auto _ : state) {
    if (g_alternate) {
      frames = b ? SiteB(pcs, capture) : SiteA(pcs, capture);
      b = !b;
    } else {
      frames = capture(pcs);
    }
    benchmark::DoNotOptimize(pcs[0]);
  }
  state.counters["frames"] = frames;
}

__attribute__((noinline)) void Deep(int depth, benchmark::State& state, Capture capture) {
  if (depth == 0) {
    Leaf(state, capture);
  } else {
    Deep(depth - 1, state, capture);
  }
  benchmark::ClobberMemory();  // keeps the recursion a real call chain
}

void BM_FramePointers(benchmark::State& state) {
  SetUp();
  Deep(kDepth, state, &FramePointers);
}
void BM_Libunwind(benchmark::State& state) {
  SetUp();
  Deep(kDepth, state, &Libunwind);
}
void BM_Table(benchmark::State& state) {
  SetUp();
  Deep(kDepth, state, &Table);
}
void Run(benchmark::State& state, Capture capture, bool alternate) {
  SetUp();
  g_alternate = alternate;
  Deep(kDepth, state, capture);
  g_alternate = false;
}
void BM_TableHashed(benchmark::State& state) { Run(state, &TableHashed, false); }
void BM_TableHashedAlternating(benchmark::State& state) { Run(state, &TableHashed, true); }
void BM_Remembered(benchmark::State& state) { Run(state, &Remembered, false); }
void BM_RememberedAlternating(benchmark::State& state) { Run(state, &Remembered, true); }
BENCHMARK(BM_FramePointers);
BENCHMARK(BM_Libunwind);
BENCHMARK(BM_Table);
BENCHMARK(BM_TableHashed);
BENCHMARK(BM_TableHashedAlternating);
BENCHMARK(BM_Remembered);
BENCHMARK(BM_RememberedAlternating);

}  // namespace

BENCHMARK_MAIN();
