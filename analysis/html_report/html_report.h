// `atr report`: one self-contained HTML file (inline CSS, JS and SVG; no
// network) explaining a trace: summary (the data of `atr info`, plus the
// replays stored in the trace), a timeline of live heap bytes with the
// replays' modelled resident and real RSS series, stack depth over time
// per thread (stack_report.h), flame graphs (one tab per metric,
// flame_svg.h), fragmentation causes (the `atr frag` report,
// frag_report.h), leaks and the replay's checks. Sites are labelled with
// their C++ type and source line when `atr sites` ran (site_label.h).
// Every string from the trace goes through EscapeMarkup (markup.h).
//
//   ATR_ASSIGN_OR_RETURN(std::string html, RenderHtmlReport(reader, {}));
//
// The sections that need a replay (fragmentation causes, checks, the
// resident series, the pinned flame graph) say "run atr replay ..." when
// the trace holds none; `atr report` runs a built-in replay first
// (EnsureBuiltinReplay) so they are filled.
#ifndef ATR_ANALYSIS_HTML_REPORT_HTML_REPORT_H_
#define ATR_ANALYSIS_HTML_REPORT_HTML_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/flamegraph/flame_graph.h"
#include "analysis/reports/frag_report.h"
#include "db/event_log_sql.h"
#include "db/trace_reader.h"

namespace atr {

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
  int64_t cause_limit = 10;   // rows per fragmentation table
  int stack_threads = 8;      // stack-depth chart: the deepest threads drawn
  int stack_points = 400;     // stack-depth chart: time buckets (max depth in each)
  // Flame graph tabs, in order; pinned is skipped when there is no replay.
  std::vector<FlameMetric> flame_metrics = {FlameMetric::kPeak, FlameMetric::kBytes,
                                            FlameMetric::kCalls, FlameMetric::kLeaked,
                                            FlameMetric::kPinned};
  // The frag report to show; unset: ComputeFrag on the newest built-in
  // replay with a span snapshot, if the trace holds one.
  std::optional<FragReport> fragmentation{};
  std::string generated_utc{};  // footer; empty = now
};

absl::StatusOr<std::string> RenderHtmlReport(TraceReader& reader,
                                             const HtmlReportOptions& options = {});

// Live bytes per seq bucket: ?1 is the bucket width in seqs. Each row is
// (bucket, live bytes at the end of the bucket).
inline constexpr char kTimelineLiveSql[] =
    "WITH p(alloc_seq, free_seq, size) AS ("
    " SELECT a.seq, " ATR_SQL_FREE_SEQ("a") ", a.size FROM event_log a"
    " WHERE " ATR_SQL_IS_ALLOCATION("a") "),"
    " d(b, delta) AS ("
    " SELECT alloc_seq / ?1, size FROM p"
    " UNION ALL"
    " SELECT free_seq / ?1, -size FROM p WHERE free_seq IS NOT NULL)"
    " SELECT b, sum(sum(delta)) OVER (ORDER BY b) FROM d GROUP BY b ORDER BY b";

}  // namespace atr

#endif  // ATR_ANALYSIS_HTML_REPORT_HTML_REPORT_H_
