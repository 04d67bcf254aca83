// What one replay produces, whatever the allocator: a summary, the metric
// samples over time, the span snapshot at the resident peak (built-in model
// only) and the problems found. replay_store.h writes it into the trace;
// docs/trace-format.md ("Replay tables") defines every field.
#ifndef ATR_REPLAYER_REPLAY_RESULT_H_
#define ATR_REPLAYER_REPLAY_RESULT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "replayer/checks.h"

namespace atr::replay {

// Metric unknown for this allocator (stored as NULL).
inline constexpr int64_t kUnknown = -1;

enum class SampleKind : uint8_t { kInterval, kPeakLive, kPeakResident, kFinal };
std::string_view SampleKindName(SampleKind k);

// The allocator's metrics after event `seq`, in bytes. For real allocators
// only what the allocator reports is filled (others kUnknown).
struct ReplaySample {
  int64_t seq = 0;
  SampleKind kind = SampleKind::kInterval;
  int64_t live_objects = 0;
  int64_t live_bytes = 0;            // requested bytes of live blocks (exact)
  int64_t allocated_bytes = kUnknown;  // live blocks as the allocator rounds them
  int64_t internal_waste_bytes = kUnknown;  // allocated - live
  int64_t free_slot_bytes = kUnknown;  // free slots in partly used spans/slabs
  int64_t cached_bytes = kUnknown;     // free objects in thread caches
  int64_t retained_bytes = kUnknown;   // free pages kept, not released
  int64_t released_bytes = kUnknown;   // free pages given back to the OS
  int64_t resident_bytes = 0;          // modelled RSS, or the driver's anonymous RSS growth
  int64_t mapped_bytes = kUnknown;     // address space mapped by the allocator
};

// One partly used span at the resident peak and the allocations in it.
struct SpanSnapshot {
  uint64_t address = 0;
  uint32_t size_class = 0;
  uint64_t object_size = 0;
  uint32_t pages = 0;
  uint32_t capacity = 0;
  uint32_t cached = 0;               // free objects of this span in thread caches
  uint64_t live_requested_bytes = 0;
  uint64_t free_bytes = 0;           // (capacity - live) * object_size
  std::vector<int64_t> allocation_ids;  // allocations.id of the live objects
};

struct ReplaySummary {
  std::string allocator;       // "builtin", "system", "jemalloc", ..., or a .so path
  std::string config;          // full effective configuration (builtin: SerializeConfig)
  std::string threads;         // "model" (built-in), "single" or "real"
  int32_t pid = 0;
  int64_t until_seq = 0;       // 0: to the end
  std::string started_utc;     // when the replay ran (ISO 8601)
  int64_t duration_ns = 0;     // wall time of the whole replay
  int64_t allocator_ns = 0;    // wall time spent executing the operations (real: in the child)
  int64_t events = 0;          // events read
  int64_t heap_ops = 0;        // acquisitions + releases replayed
  int64_t last_seq = 0;
  int64_t peak_live_bytes = 0;
  int64_t peak_live_seq = 0;
  int64_t resident_at_peak_live = 0;
  int64_t peak_resident_bytes = 0;
  int64_t peak_resident_seq = 0;
  int64_t live_at_peak_resident = 0;
  double fragmentation_at_peak = 0;  // 1 - live/resident at the resident peak
  double jw3 = 0;              // resident at the live peak / peak live - 1
  double jw4 = 0;              // peak resident / peak live - 1
  double avg_waste_bytes = 0;  // mean over events of resident - live
  int64_t final_live_bytes = 0;
  int64_t final_resident_bytes = 0;
  std::string digest;          // 16 hex digits; see docs/replay.md
  int64_t problems = 0;        // all findings (misuse + leaks + notes)
  std::string outcome;         // "complete", "until", "partial: ..." (unsound tail)
};

struct ReplayRun {
  ReplaySummary summary;
  std::vector<ReplaySample> samples;  // in seq order
  int64_t snapshot_seq = 0;           // 0: no span snapshot
  std::vector<SpanSnapshot> spans;
  ProblemLog problems;
};

// A 64-bit running hash over 64-bit words (one multiply per word: cheap
// enough to take every address of a replay). Stable across builds.
class Digest {
 public:
  void Add(uint64_t v) {
    h_ = (h_ ^ v) * 0x9e3779b97f4a7c15ull;
    h_ ^= h_ >> 29;
  }
  uint64_t value() const { return h_; }
  std::string Hex() const;

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

// For replays that only know their metrics at the samples (real
// allocators): the summary's peaks, J&W measures and time-averaged waste,
// computed from run->samples (each sample standing for the events up to
// the next one).
void SummarizeSamples(ReplayRun* run);

// Fills the derived ratios from the peak fields.
void FinishRatios(ReplaySummary* s);

}  // namespace atr::replay

#endif  // ATR_REPLAYER_REPLAY_RESULT_H_
