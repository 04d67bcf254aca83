// The report's "Stack depth" section: each thread's stack depth over time
// (the max depth per time bucket of `atr stack`, stack_depth_report.h), the
// deepest threads as series of one chart, and a table of their deepest
// points.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "analysis/render/html_parts.h"
#include "analysis/reports/stack_depth_report.h"
#include "base/number_format.h"
#include "base/status_macros.h"

namespace atr::html {
namespace {

constexpr const char* kThreadColors[] = {"#c2410c", "#1a56a8", "#2f8f3a", "#7c3aed",
                                         "#b91c1c", "#0f766e", "#a16207", "#db2777"};

std::string ThreadName(const ThreadRow& t) {
  std::string s = t.tid == t.pid ? absl::StrCat("main ", t.tid) : absl::StrCat("thread ", t.tid);
  if (t.name && !t.name->empty()) absl::StrAppend(&s, " \"", *t.name, "\"");
  return s;
}

// Innermost first, at most `n` functions: "recurse ← recurse ← big_frame ← ...".
std::string PathText(const std::vector<StackPathFrame>& path, size_t n) {
  std::vector<std::string> names;
  for (size_t i = 0; i < path.size() && i < n; ++i) names.push_back(path[i].function);
  std::string s = absl::StrJoin(names, " \xE2\x86\x90 ");
  if (path.size() > n) absl::StrAppend(&s, " \xE2\x86\x90 \xE2\x80\xA6 (", path.size(), " frames)");
  return s;
}

}  // namespace

absl::Status AppendStackDepth(TraceReader& reader, const HtmlReportOptions& o, bool x_is_seq,
                              std::string& out) {
  out += "<section id=\"stack-section\"><h2>Stack depth</h2>\n";
  ATR_ASSIGN_OR_RETURN(
      StackDepthReport r,
      ComputeStackDepthReport(reader,
                         {.stack_size = 0, .limit = 1, .timeline_buckets = o.stack_points}));
  std::vector<const ThreadStackDepthReport*> threads;
  for (const ThreadStackDepthReport& t : r.threads) {
    if (t.state.max.depth > 0 && !t.state.timeline.empty()) threads.push_back(&t);
  }
  if (threads.empty() || x_is_seq) {
    out += "<p class=\"note\">No stack depths in this trace (recorded without them, or "
           "without timestamps).</p>\n</section>\n";
    return absl::OkStatus();
  }
  std::stable_sort(threads.begin(), threads.end(), [](const auto* a, const auto* b) {
    return a->state.max.depth > b->state.max.depth;
  });
  const size_t shown = std::min(threads.size(), static_cast<size_t>(std::max(o.stack_threads, 1)));
  absl::StrAppend(
      &out, "<p class=\"note\">",
      r.stack_ops
          ? absl::StrCat("Exact: the enter/exit stream of <code>atr record --stack-ops</code> (",
                         FormatCount(r.func_events), " function events).")
          : std::string("Sampled: the depth at each heap event. Record a program built with "
                        "<code>-finstrument-functions</code> with <code>atr record "
                        "--stack-ops</code> for the depth at every call."),
      " Bytes between each thread's stack top and its stack pointer, the deepest in each of ",
      o.stack_points, " time slices; ", shown, " of ", threads.size(),
      threads.size() == 1 ? " thread" : " threads",
      shown < threads.size() ? " (the deepest; <code>atr stack</code> lists all)" : "", ".</p>\n");

  Timeline chart;
  const double span = static_cast<double>(r.timeline_end_ns - r.timeline_start_ns);
  for (size_t i = 0; i < shown; ++i) {
    const ThreadStackDepthReport& t = *threads[i];
    TimelineSeries s{.name = absl::StrCat(ThreadName(t.thread), " (max ",
                                          FormatBytes(t.state.max.depth), ")"),
                     .color = kThreadColors[i % std::size(kThreadColors)],
                     .points = {}};
    const size_t buckets = t.state.timeline.size();
    for (size_t b = 0; b < buckets; ++b) {
      if (t.state.timeline[b] == 0) continue;  // no event of this thread then
      s.points.emplace_back(
          r.timeline_start_ns + static_cast<int64_t>(span * (2.0 * b + 1) / (2.0 * buckets)),
          t.state.timeline[b]);
    }
    chart.series.push_back(std::move(s));
  }
  chart.peak_x = threads[0]->state.max.ts_ns;
  chart.peak_bytes = threads[0]->state.max.depth;
  AppendChart("stack-depth", chart, {.peak_name = "deepest", .fill_first = false, .zoom_to_data = true}, out);

  out += "<table>\n";
  const std::vector<bool> num = {false, true, true, true, true, false};
  AppendRow(out, {"thread", "max depth", "at", "stack size", "headroom",
                  "deepest call path (innermost first)"},
            num, "th");
  for (size_t i = 0; i < shown; ++i) {
    const ThreadStackDepthReport& t = *threads[i];
    const std::optional<uint64_t>& size = t.stack_bytes;
    AppendRow(out,
              {ThreadName(t.thread), FormatBytes(t.state.max.depth),
               FormatDuration(t.state.max.ts_ns),  // since the recording's start, as the chart
               size ? FormatBytes(static_cast<int64_t>(*size)) : "-",
               size ? FormatBytes(static_cast<int64_t>(*size) - t.state.max.depth) : "-",
               PathText(t.deepest_path, 6)},
              num);
  }
  out += "</table>\n</section>\n";
  return absl::OkStatus();
}

}  // namespace atr::html
