// Building blocks of the HTML report's sections (html_report.cc,
// frag_section.cc, stack_depth_section.cc): escaped table rows and cards, a
// stack behind a <details>, and charts the page script draws. Internal to
// analysis/render; every string taken from the trace goes through Esc.
//
//   html::AppendRow(out, {"#", "site"}, {true, false}, "th");
//   html::AppendChart("stack-depth", timeline, {.peak_name = "deepest"}, out);
#ifndef ATR_ANALYSIS_RENDER_HTML_PARTS_H_
#define ATR_ANALYSIS_RENDER_HTML_PARTS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "analysis/model/stack_view.h"
#include "analysis/model/timeline.h"
#include "analysis/render/html_report.h"
#include "analysis/reports/frag_report.h"
#include "db/trace_reader.h"

namespace atr::html {

inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// EscapeMarkup (markup.h): safe in text and attributes.
std::string Esc(std::string_view s);
// "12.5%".
std::string Percent(double share);

void AppendCard(std::string& out, std::string_view value, std::string_view key);
// One <tr>; numeric cells are right-aligned.
void AppendRow(std::string& out, const std::vector<std::string>& cells,
               const std::vector<bool>& numeric, std::string_view tag = "td");
// The label as a <details> summary, the full stack (innermost first) inside.
void AppendStackDetails(std::string_view label, const StackView& v, std::string& out);

struct ChartStyle {
  std::string peak_name = "peak";  // the marked point: "peak 1.2 MiB at 3.4 ms"
  bool fill_first = true;          // shade the area under the first series
  bool zoom_to_data = false;       // x axis from the first point, not from 0
};
// <div class="chart-box" id=ID data-chart="ID-data"> and the chart's JSON
// in <script id="ID-data">; the page script draws it and sets data-drawn="1".
void AppendChart(std::string_view id, const Timeline& t, const ChartStyle& style,
                 std::string& out);

// Sections.
// The `atr frag` report: breakdown at the resident peak, pinning sites
// (culprit first), waste by size class, peak survivors, lifetime mixing.
void AppendFragmentation(const std::optional<FragReport>& f, std::string& out);
// Stack depth over time of the deepest threads (stack_depth_report.h), or a
// one-line note when the trace has no depths. `x_is_seq`: the trace has
// no timestamps (the depth chart needs them).
absl::Status AppendStackDepth(TraceReader& reader, const HtmlReportOptions& o, bool x_is_seq,
                              std::string& out);

}  // namespace atr::html

#endif  // ATR_ANALYSIS_RENDER_HTML_PARTS_H_
