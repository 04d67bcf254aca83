// Event chunk codec benchmarks (db/event_chunk_encoder.h,
// db/event_chunk_decoder.h): encode and decode rates, one core, and bytes
// per event, on the realistic synthetic heap stream of the codec's tests
// (db/synthetic_event_stream.h) cut into chunks of 64 Ki events.
//
//   cmake --build build --target event_chunk_bench
//   build/bench/event_chunk_bench --benchmark_counters_tabular=true
//
// Results: docs/benchmarks.md, "Event chunks".
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "db/event_chunk_decoder.h"
#include "db/event_chunk_encoder.h"
#include "db/event_columns.h"
#include "db/synthetic_event_stream.h"

namespace atr {
namespace {

constexpr size_t kChunkEvents = 1 << 16;
constexpr size_t kChunks = 16;

// The stream, one EventColumns per chunk; built once.
const std::vector<EventColumns>& Chunks() {
  static const auto* chunks = [] {
    const EventColumns all =
        MakeSyntheticHeapStream({.events = kChunks * kChunkEvents, .threads = 4});
    auto* out = new std::vector<EventColumns>(kChunks);
    for (size_t c = 0; c < kChunks; ++c) (*out)[c].AssignRows(all, c * kChunkEvents, kChunkEvents);
    return out;
  }();
  return *chunks;
}

std::vector<std::string> Blobs(int zstd_level) {
  EventChunkEncoder encoder(zstd_level);
  std::vector<std::string> blobs(kChunks);
  ChunkZoneMap zone;
  for (size_t c = 0; c < kChunks; ++c) {
    if (!encoder.Encode(Chunks()[c], &blobs[c], &zone).ok()) std::abort();
  }
  return blobs;
}

void SetCounters(benchmark::State& state, const std::vector<std::string>& blobs) {
  size_t bytes = 0;
  for (const std::string& b : blobs) bytes += b.size();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kChunks * kChunkEvents));
  state.counters["B/event"] = static_cast<double>(bytes) / (kChunks * kChunkEvents);
}

// Arg: zstd level.
void BM_EncodeChunk(benchmark::State& state) {
  const std::vector<EventColumns>& chunks = Chunks();
  EventChunkEncoder encoder(static_cast<int>(state.range(0)));
  std::vector<std::string> blobs(kChunks);
  ChunkZoneMap zone;
  for (auto _ : state) {
    for (size_t c = 0; c < kChunks; ++c) {
      if (!encoder.Encode(chunks[c], &blobs[c], &zone).ok()) state.SkipWithError("encode failed");
    }
    benchmark::DoNotOptimize(blobs.data());
  }
  SetCounters(state, blobs);
}
BENCHMARK(BM_EncodeChunk)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

// Arg: zstd level the blobs were written with. Decompression included.
void BM_DecodeChunk(benchmark::State& state) {
  const std::vector<std::string> blobs = Blobs(static_cast<int>(state.range(0)));
  EventChunkDecoder decoder;
  EventColumns out;
  for (auto _ : state) {
    for (const std::string& blob : blobs) {
      if (!decoder.Decode(blob, &out).ok()) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(out.seq.data());
    }
  }
  SetCounters(state, blobs);
}
BENCHMARK(BM_DecodeChunk)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace atr

BENCHMARK_MAIN();
