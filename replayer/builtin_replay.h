// Built-in replay: a trace's heap operations, in seq order, through the
// allocator model (allocator/heap.h), one thread cache per recorded thread.
//
// Deterministic: the model has no clock or randomness and the engine feeds
// it in seq order, so the same trace and Config give the same addresses and
// the same outcome digest, every run, multi-threaded traces included.
//
// Sampling: the model's metrics every `sample_every` events (default: about
// 1/1000 of the trace's seq range, at least every 100 events), plus, in each
// interval that set a new peak of live or of resident bytes, the state at
// the last such peak (captured at most once per 16 events, so the summary's
// peak values are exact, the peak sample within 16 events of it), plus a
// final sample. The span snapshot is taken at the exact resident peak: a
// throttled snapshot at new peaks during the run, and if the last one is not
// the peak, a second deterministic pass up to the peak seq.
//
//   BuiltinReplayOptions o;
//   o.config = *alloc::ParseConfig({"page_size=4096"});
//   ATR_ASSIGN_OR_RETURN(ReplayRun run, RunBuiltinReplay(&reader, o));
//   run.summary.digest;  // "3f9c0e2a7b1d4c55"
//
// Counterfactual replays (`atr whatif`, `atr frag --verify`): the
// allocations of chosen stacks go to a second Heap of their own, same
// configuration (segregate_stacks), or are not replayed at all
// (drop_stacks), with their frees and reallocs. Handles of the second heap
// carry kSegregatedHandle, those of dropped blocks kDroppedHandle, so every
// release finds its heap. Live, resident and every sampled metric are the
// sums over both heaps; live excludes dropped blocks. Spans of the second
// heap are snapshotted with kSegregatedHandle set in their address, so they
// never collide with the first heap's in replay_spans.
#ifndef ATR_REPLAYER_BUILTIN_REPLAY_H_
#define ATR_REPLAYER_BUILTIN_REPLAY_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "allocator/config.h"
#include "db/trace_reader.h"
#include "replayer/replay_result.h"

namespace atr::replay {

struct BuiltinReplayOptions {
  alloc::Config config{};
  std::optional<int32_t> pid{};   // default: DefaultPid(reader)
  int64_t until_seq = std::numeric_limits<int64_t>::max();
  int64_t sample_every = 0;       // events between samples; 0 = automatic
  bool span_snapshot = true;      // snapshot at the resident peak (may cost a second pass)
  size_t max_problems = 10000;
  std::function<void(int64_t seq)> progress{};
  // Every event of the main run, in seq order, after the heap side
  // (EngineOptions::on_event): the stack model rides along this way.
  std::function<void(const EventRow& e)> on_event{};
  // Test hook: every acquisition as (allocation id, handle): the model
  // address, tagged as below for segregated and dropped blocks.
  std::function<void(int64_t id, uint64_t addr)> on_allocate{};
  // Counterfactuals, by allocation stack (events.stack of the acquiring
  // event; a moving realloc's new block goes by the realloc's stack).
  // REQUIRES: the two sets are disjoint.
  absl::flat_hash_set<StackId> segregate_stacks{};  // to a second heap
  absl::flat_hash_set<StackId> drop_stacks{};       // not replayed
};

// Tags of backend handles (model addresses stay below 2^46).
inline constexpr uint64_t kSegregatedHandle = uint64_t{1} << 62;
inline constexpr uint64_t kDroppedHandle = uint64_t{1} << 61;

// REQUIRES: reader outlives the call. Errors: bad configuration, unreadable
// trace. Bad events become problems in run.problems.
absl::StatusOr<ReplayRun> RunBuiltinReplay(TraceReader* reader,
                                           const BuiltinReplayOptions& options);

// The replay `atr frag` and `atr report` explain by default: the newest
// built-in replay of the program as recorded that has a span snapshot; 0
// when the trace holds none.
absl::StatusOr<int64_t> NewestBuiltinSnapshotReplay(const TraceReader& reader);

// NewestBuiltinSnapshotReplay, after running a built-in replay with the
// default configuration and storing it in the trace if there is none.
// `progress`: a progress line on stderr while replaying.
absl::StatusOr<int64_t> EnsureBuiltinReplay(const std::string& trace_path, bool progress);

// Sample interval used when sample_every = 0.
absl::StatusOr<int64_t> AutoSampleInterval(const TraceReader& reader);

// What a replay covers when its options leave it open, for the built-in
// and the real-allocator replays alike: `pid`, else DefaultPid(reader);
// `sample_every` when > 0, else AutoSampleInterval(reader).
struct ReplayScope {
  int32_t pid = 0;
  int64_t sample_every = 0;
};
absl::StatusOr<ReplayScope> ResolveReplayScope(const TraceReader& reader,
                                               std::optional<int32_t> pid,
                                               int64_t sample_every);

// Now, as ISO 8601 UTC with seconds ("2026-11-27T00:10:00Z").
std::string NowUtc();

}  // namespace atr::replay

#endif  // ATR_REPLAYER_BUILTIN_REPLAY_H_
