// `atr report`: one self-contained HTML file (inline CSS, JS and SVG; no
// network) explaining a trace: summary (the data of `atr info`, plus the
// replays stored in the trace), a timeline of live heap bytes with the
// replays' modelled resident and real RSS series (timeline.h), stack depth over time
// per thread (stack_depth_report.h), flame graphs (one tab per metric,
// flame_svg.h), fragmentation causes (the `atr frag` report,
// frag_report.h), leaks and the replay's checks. Sites are labelled with
// their C++ type and source line when `atr sites` ran (site_label.h).
// Every string from the trace goes through EscapeMarkup (markup.h). The
// page's stylesheet and scripts are report.css, report.js and
// report_errors.js beside this file, compiled in.
//
//   ATR_ASSIGN_OR_RETURN(std::string html, RenderHtmlReport(reader, {}));
//
// The sections that need a replay (fragmentation causes, checks, the
// resident series, the pinned flame graph) say "run atr replay ..." when
// the trace holds none; `atr report` runs a built-in replay first
// (replay::EnsureBuiltinReplay) so they are filled.
#ifndef ATR_ANALYSIS_RENDER_HTML_REPORT_H_
#define ATR_ANALYSIS_RENDER_HTML_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/model/flame_graph.h"
#include "analysis/reports/frag_report.h"
#include "db/trace_reader.h"

namespace atr {

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

}  // namespace atr

#endif  // ATR_ANALYSIS_RENDER_HTML_REPORT_H_
