// Real-allocator replay: the trace's heap calls, in seq order, performed by
// a real malloc (glibc, jemalloc, tcmalloc, mimalloc or any malloc .so) in a
// child process, `atr-replay-driver`, started with the allocator in
// LD_PRELOAD. The parent streams the events through the same ReplayEngine as
// the built-in replay (so bad events are reported and never reach the real
// allocator), writes an op stream (replayer/op_stream.h) to a temporary file
// and reads back samples of resident memory and the allocator's statistics.
//
// Threads: `single` performs every call on one thread; `real` runs one
// thread per recorded thread, each executing its own calls, with a token
// passed between threads so the global trace order holds (per-thread
// caches and arenas then see what they saw when recorded).
//
//   RealReplayOptions o{.allocator = "jemalloc", .real_threads = true};
//   ATR_ASSIGN_OR_RETURN(ReplayRun run, RunRealReplay(&reader, o));
#ifndef ATR_REPLAYER_REAL_REPLAY_H_
#define ATR_REPLAYER_REAL_REPLAY_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "db/trace_reader.h"
#include "replayer/replay_result.h"

namespace atr::replay {

struct RealReplayOptions {
  std::string allocator = "system";  // system|glibc|jemalloc|tcmalloc|mimalloc|PATH.so
  std::optional<int32_t> pid{};
  int64_t until_seq = std::numeric_limits<int64_t>::max();
  int64_t sample_every = 0;          // 0 = automatic (as the built-in replay)
  bool real_threads = false;
  std::string driver_path{};         // empty: found next to the running program
  size_t max_problems = 10000;
  std::function<void(int64_t seq)> progress{};
  // Every event of the main run, in seq order, after the heap side
  // (EngineOptions::on_event): the stack model rides along this way.
  std::function<void(const EventRow& e)> on_event{};
};

struct ResolvedAllocator {
  std::string name;      // as given, "system" for glibc
  std::string library;   // path to LD_PRELOAD; empty for the system allocator
};

// Maps a name to its library. Missing packages give one line naming the
// Debian package to install ("jemalloc: libjemalloc.so.2 not found; install
// the Debian package libjemalloc2").
absl::StatusOr<ResolvedAllocator> ResolveAllocator(const std::string& name);

// Where atr-replay-driver is: $ATR_REPLAY_DRIVER, else beside the running
// executable, else ../bin beside it (tests run from build/tests).
absl::StatusOr<std::string> FindReplayDriver();

absl::StatusOr<ReplayRun> RunRealReplay(TraceReader* reader, const RealReplayOptions& options);

}  // namespace atr::replay

#endif  // ATR_REPLAYER_REAL_REPLAY_H_
