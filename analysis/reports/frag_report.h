// `atr frag`: why is (modelled) resident memory so far above live memory?
//
// Works from a built-in replay's results stored in the trace (replays,
// replay_samples, replay_spans, replay_blame; docs/trace-format.md): if the
// trace has none, the CLI first runs and stores one with the default
// configuration (replay::EnsureBuiltinReplay), so `atr frag run.db` just
// works.
//
// At the replay's peak of modelled resident bytes it reports:
//   * the breakdown: live, internal waste, free slots in partly used spans,
//     cached, retained, released (docs/allocator.md defines each);
//   * pinning sites: each partly used span's free bytes shared equally
//     among the live objects keeping it, summed per allocation site;
//   * size classes with the most internal waste, and the site feeding most;
//   * peak survivors: sites whose objects, allocated in the window before
//     the peak, are still live after it (LLAMA's long-lived-at-peak);
//   * lifetime mixing per size class: how far apart (in decades of
//     events) the eventual lifetimes of span-mates are.
//
// With --verify K, each of the first K pinning sites is then tested by a
// leave-one-out segregation replay (analysis/reports/whatif_report.h) and
// ranked by the peak resident bytes it actually saves (FragReport::verified).
//
//   ATR_ASSIGN_OR_RETURN(int64_t replay, replay::EnsureBuiltinReplay(path, false));
//   ATR_ASSIGN_OR_RETURN(FragReport r, ComputeFrag(reader, {.replay_id = replay}));
#ifndef ATR_ANALYSIS_REPORTS_FRAG_REPORT_H_
#define ATR_ANALYSIS_REPORTS_FRAG_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/model/stack_view.h"
#include "db/trace_reader.h"
#include "replayer/replay_result.h"

namespace atr {

struct FragOptions {
  std::optional<int64_t> replay_id;  // default: replay::NewestBuiltinSnapshotReplay
  int64_t limit = 10;                // rows per section
};

struct FragBreakdown {
  int64_t seq = 0;  // where the resident peak was
  int64_t live = 0, internal_waste = 0, free_slots = 0, cached = 0, retained = 0, released = 0,
          resident = 0, mapped = 0;
  double fragmentation = 0;  // 1 - live / resident
};

struct PinningSite {
  std::string site;
  int64_t top_stack = 0;
  double pinned_bytes = 0;        // shares of free bytes in the spans it pins
  int64_t spans = 0;              // partly used spans holding its objects
  int64_t live_objects = 0;       // its objects in those spans
  double median_age_events = 0;   // peak seq - alloc seq, median over those objects
  double never_freed_share = 0;   // of those objects, the share never released
  StackView stack;                // of top_stack
};

struct WasteClass {
  int64_t class_size = 0;         // bytes per object of the size class
  int64_t objects = 0;            // live at the peak
  int64_t waste_bytes = 0;        // sum of class_size - requested
  std::string top_site;           // site contributing most of the waste
};

struct SurvivorSite {
  std::string site;
  int64_t objects = 0;            // allocated in the window, live after the peak
  int64_t bytes = 0;
};

struct MixingClass {
  int64_t class_size = 0;
  int64_t spans = 0;
  double mixing_decades = 0;      // mean over spans of log10(max/min lifetime)
};

// One pinning site tested by a leave-one-out segregation replay.
struct VerifiedSite {
  std::string site;               // PinningSite::site
  int estimated_rank = 0;         // 1-based rank among the pinning sites
  double pinned_bytes = 0;        // the estimate (PinningSite::pinned_bytes)
  int64_t stacks = 0;             // allocation stacks segregated
  int64_t peak_resident = 0;      // of the segregated replay
  int64_t saved_bytes = 0;        // baseline peak resident - peak_resident
  double saved_share = 0;         // saved_bytes / baseline peak resident
};

struct FragReport {
  int64_t replay_id = 0;
  std::string config;
  std::string counterfactual;     // replays.counterfactual; empty: the program as recorded
  FragBreakdown peak;
  double attributed_bytes = 0;    // free-slot bytes attributed to sites
  std::vector<PinningSite> pinning;
  std::vector<WasteClass> waste;
  std::vector<SurvivorSite> survivors;
  int64_t survivor_window = 0;    // events before the peak considered "near"
  std::vector<MixingClass> mixing;
  // --verify: ranked by saved_bytes (largest first); verify_baseline is the
  // explained replay's peak resident bytes.
  bool verified_ran = false;
  int64_t verify_baseline = 0;
  std::vector<VerifiedSite> verified;
};

absl::StatusOr<FragReport> ComputeFrag(TraceReader& reader, const FragOptions& options);
std::string RenderFragText(const FragReport& r);
std::string RenderFragJson(const FragReport& r);
// --csv: the pinning sites, one row each (rank, pinned_bytes, spans,
// live_objects, median_age_events, never_freed_share, stack, and with
// --verify saved_bytes and verified_rank), then site.
std::string RenderFragCsv(const FragReport& r);

// The breakdown at the sample with the most resident bytes (a peak sample
// first on ties, then the earliest): what ComputeFrag reads from
// replay_samples, for a replay held in memory.
FragBreakdown BreakdownAtResidentPeak(const std::vector<replay::ReplaySample>& samples);

// The pinning query (docs/queries.md): free bytes of each snapshot span
// shared equally among its live objects, per allocation stack.
extern const char kPinningByStackSql[];

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_FRAG_REPORT_H_
