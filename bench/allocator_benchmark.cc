// Speed of the allocator model vs glibc malloc on the same operations.
//
//   BM_ThreadCachePath/{model,glibc}: allocate + free of one 64-byte object
//     (the thread-cache hit path); reported per operation.
//   BM_ReplayLike/{model,glibc}: a pre-generated random sequence that holds
//     1M live objects of mixed sizes (8 B - 32 KiB, few large) and frees a
//     random victim per allocation; items/s = operations per second.
// Run: build/bench/allocator_benchmark --benchmark_repetitions=3
//        --benchmark_report_aggregates_only=true
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "allocator/heap.h"
#include "benchmark/benchmark.h"

namespace atr::alloc {
namespace {

std::unique_ptr<Heap> NewHeap() {
  absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(Config{});
  if (!heap.ok()) std::abort();
  return *std::move(heap);
}

void BM_ThreadCachePath_Model(benchmark::State& state) {
  auto heap = NewHeap();
  ThreadCacheId t = heap->CreateThreadCache();
  uint64_t id = 0;
  for (auto _ : state) {
    absl::StatusOr<uint64_t> a = heap->Allocate(t, 64, 0, ++id);
    benchmark::DoNotOptimize(a);
    absl::Status st = heap->Free(t, *a);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations() * 2);  // two operations
}
BENCHMARK(BM_ThreadCachePath_Model);

void BM_ThreadCachePath_Glibc(benchmark::State& state) {
  for (auto _ : state) {
    void* p = std::malloc(64);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_ThreadCachePath_Glibc);

// One replay-like operation: allocate `size` into slot `slot`, freeing the
// slot's previous occupant first.
struct Op {
  uint32_t slot;
  uint32_t size;
};

constexpr size_t kLive = 1 << 20;
constexpr size_t kOps = 1 << 22;

uint32_t MixedSize(std::mt19937_64& rng) {
  uint64_t r = rng() % 1000;
  if (r < 600) return 8 + rng() % 120;    // small
  if (r < 900) return 128 + rng() % 896;  // medium
  if (r < 995) return 1024 + rng() % 31744;
  return 32768 + rng() % 100000;          // large, straight to the page heap
}

const std::vector<Op>& Ops() {
  static const auto* ops = [] {
    auto* v = new std::vector<Op>(kOps);
    std::mt19937_64 rng(1);
    for (Op& op : *v) {
      op.slot = static_cast<uint32_t>(rng() % kLive);
      op.size = MixedSize(rng);
    }
    return v;
  }();
  return *ops;
}

const std::vector<uint32_t>& InitialSizes() {
  static const auto* sizes = [] {
    auto* v = new std::vector<uint32_t>(kLive);
    std::mt19937_64 rng(2);
    for (uint32_t& s : *v) s = MixedSize(rng);
    return v;
  }();
  return *sizes;
}

void BM_ReplayLike_Model(benchmark::State& state) {
  const std::vector<Op>& ops = Ops();
  auto heap = NewHeap();
  std::vector<ThreadCacheId> threads;
  for (int i = 0; i < 4; ++i) threads.push_back(heap->CreateThreadCache());
  std::vector<uint64_t> live(kLive);
  for (size_t i = 0; i < kLive; ++i) {
    live[i] = *heap->Allocate(threads[i % 4], InitialSizes()[i], 0, i);
  }
  size_t next = 0;
  uint64_t id = kLive;
  for (auto _ : state) {
    const Op& op = ops[next];
    next = (next + 1) & (kOps - 1);
    ThreadCacheId t = threads[op.slot & 3];
    absl::Status st = heap->Free(t, live[op.slot]);
    benchmark::DoNotOptimize(st);
    live[op.slot] = *heap->Allocate(t, op.size, 0, ++id);
  }
  state.SetItemsProcessed(state.iterations() * 2);
  HeapStats s = heap->Stats();
  state.counters["live_MB"] = static_cast<double>(s.live_requested_bytes) / 1e6;
  state.counters["resident_MB"] = static_cast<double>(s.resident_bytes) / 1e6;
  state.counters["mapped_MB"] = static_cast<double>(s.mapped_bytes) / 1e6;
  state.counters["metadata_MB"] = static_cast<double>(s.metadata_bytes) / 1e6;
  state.counters["metadata_pct_of_mapped"] =
      100.0 * static_cast<double>(s.metadata_bytes) /
      static_cast<double>(s.mapped_bytes);
}
BENCHMARK(BM_ReplayLike_Model)->Unit(benchmark::kNanosecond);

void BM_ReplayLike_Glibc(benchmark::State& state) {
  const std::vector<Op>& ops = Ops();
  std::vector<void*> live(kLive);
  for (size_t i = 0; i < kLive; ++i) live[i] = std::malloc(InitialSizes()[i]);
  size_t next = 0;
  for (auto _ : state) {
    const Op& op = ops[next];
    next = (next + 1) & (kOps - 1);
    std::free(live[op.slot]);
    live[op.slot] = std::malloc(op.size);
    benchmark::DoNotOptimize(live[op.slot]);
  }
  state.SetItemsProcessed(state.iterations() * 2);
  for (void* p : live) std::free(p);
  malloc_trim(0);
}
BENCHMARK(BM_ReplayLike_Glibc)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace atr::alloc

BENCHMARK_MAIN();
