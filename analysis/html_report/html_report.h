// `atr report`: one self-contained HTML file (inline CSS, JS and SVG; no
// network) explaining a trace: summary (the data of `atr info`, plus the
// replays stored in the trace), a timeline of live heap bytes with the
// replays' modelled resident and real RSS series, flame graphs (one tab per
// metric, flame_svg.h), fragmentation causes, leaks and the replay's checks.
// Every string from the trace goes through EscapeMarkup (markup.h).
//
//   ATR_ASSIGN_OR_RETURN(std::string html, RenderHtmlReport(reader, {}));
//
// The sections that need a replay (fragmentation causes, checks, the
// resident series, the pinned flame graph) say "run atr replay ..." when
// the trace holds none. Other reports can hand in their own data, e.g. the
// frag report's causes through HtmlReportOptions::fragmentation.
#ifndef ATR_ANALYSIS_HTML_REPORT_HTML_REPORT_H_
#define ATR_ANALYSIS_HTML_REPORT_HTML_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/flamegraph/flame_graph.h"
#include "db/trace_reader.h"

namespace atr {

// One allocation site whose live objects keep partly used spans from being
// released, at the replay's span snapshot.
struct FragmentationCause {
  int64_t stack = 0;         // allocation stack (a representative one when grouped by site)
  std::string site{};          // site label ("keep_session(int) session_server.cc:52")
  int64_t pinned_bytes = 0;  // free bytes of those spans, equal shares per live object
  int64_t live_objects = 0;  // its live objects in partly used spans
  int64_t live_bytes = 0;    // their requested bytes
  int64_t spans = 0;         // partly used spans holding at least one of them
  std::string note{};          // optional one-line explanation from the frag report
};

struct FragmentationCauses {
  int64_t replay_id = 0;
  std::string allocator{};             // replays.allocator
  int64_t snapshot_seq = 0;          // when the spans were captured (resident peak)
  int64_t resident_bytes = 0;        // modelled resident bytes then (0 = unknown)
  int64_t live_bytes = 0;            // requested bytes live then
  int64_t free_bytes_in_spans = 0;   // free bytes of all partly used spans
  int64_t partly_used_spans = 0;
  std::vector<FragmentationCause> causes{};  // biggest pinned_bytes first
};

// Pinned bytes by allocation site from the newest replay with a span
// snapshot (replay_spans + replay_blame); nullopt when there is none.
absl::StatusOr<std::optional<FragmentationCauses>> ComputePinnedBySite(TraceReader& reader,
                                                                       int64_t limit);

// A series of the timeline chart: x in ns since the trace's start (or seq
// when the trace has no timestamps), y in bytes.
struct TimelineSeries {
  std::string name{};
  std::string color{};                             // CSS color
  std::vector<std::pair<int64_t, int64_t>> points{};
};
struct Timeline {
  bool x_is_seq = false;                         // no timestamps: x is the event seq
  std::vector<TimelineSeries> series{};            // live bytes first
  int64_t peak_x = 0, peak_bytes = 0;            // the exact peak of live bytes
};

// Live heap bytes at the end of each of about `points` equal seq intervals
// (kTimelineLiveSql), carried across quiet intervals, plus the exact peak;
// then the resident series of the newest built-in replay and of the newest
// real-allocator replay, when present.
absl::StatusOr<Timeline> ComputeTimeline(TraceReader& reader, int points);

struct HtmlReportOptions {
  int timeline_points = 1000;
  int64_t leak_limit = 10;
  int64_t cause_limit = 10;
  // Flame graph tabs, in order; pinned is skipped when there is no replay.
  std::vector<FlameMetric> flame_metrics = {FlameMetric::kPeak, FlameMetric::kBytes,
                                            FlameMetric::kCalls, FlameMetric::kLeaked,
                                            FlameMetric::kPinned};
  // Causes from the frag report; unset: ComputePinnedBySite.
  std::optional<FragmentationCauses> fragmentation{};
  std::string generated_utc{};  // footer; empty = now
};

absl::StatusOr<std::string> RenderHtmlReport(TraceReader& reader,
                                             const HtmlReportOptions& options = {});

// Live bytes per seq bucket: ?1 is the bucket width in seqs. Each row is
// (bucket, live bytes at the end of the bucket).
inline constexpr char kTimelineLiveSql[] =
    "WITH d(b, delta) AS ("
    " SELECT p.alloc_seq / ?1, e.size FROM allocation_pairs p JOIN event_log e ON e.seq = p.alloc_seq"
    " UNION ALL"
    " SELECT p.free_seq / ?1, -e.size FROM allocation_pairs p JOIN event_log e ON e.seq = p.alloc_seq"
    " WHERE p.free_seq IS NOT NULL)"
    " SELECT b, sum(sum(delta)) OVER (ORDER BY b) FROM d GROUP BY b ORDER BY b";

}  // namespace atr

#endif  // ATR_ANALYSIS_HTML_REPORT_HTML_REPORT_H_
