#include "analysis/render/html_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"
#include "analysis/render/flame_svg.h"
#include "analysis/render/html_parts.h"
#include "analysis/render/report_assets.h"  // generated from report.css, report.js, report_errors.js
#include "analysis/reports/info_report.h"
#include "analysis/reports/leaks_report.h"
#include "base/number_format.h"
#include "base/status_macros.h"
#include "base/utc_time.h"
#include "db/query.h"
#include "replayer/replay_store.h"

namespace atr {
namespace {

using assets::kReportCss;
using assets::kReportErrorsJs;
using assets::kReportJs;
using html::AppendCard;
using html::AppendChart;
using html::AppendFragmentation;
using html::AppendRow;
using html::AppendStackDepth;
using html::AppendStackDetails;
using html::AV;
using html::Esc;
using html::Percent;

std::string ExitText(const TraceInfo& i) {
  if (i.exit_signal) return absl::StrCat("signal ", *i.exit_signal);
  if (i.exit_status) return absl::StrCat("exit ", *i.exit_status);
  return "unknown";
}

absl::Status AppendSummary(TraceReader& reader, const TraceInfo& info, std::string& out) {
  out += "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\">\n";
  AppendCard(out, FormatDuration(info.duration_ns), "duration");
  AppendCard(out, FormatCount(info.allocation_calls), "allocations");
  AppendCard(out, FormatBytes(info.allocated_bytes), "bytes allocated");
  AppendCard(out, FormatBytes(info.peak_live_bytes), "peak live heap");
  AppendCard(out, FormatBytes(info.leaked_bytes), "leaked at exit");
  AppendCard(out, ExitText(info), "exit");
  out += "</div>\n<table>\n";
  const std::vector<bool> kv = {false, false};
  AppendRow(out, {"trace", info.path}, kv);
  AppendRow(out, {"command", absl::StrJoin(info.argv, " ")}, kv);
  if (!info.start_time_utc.empty()) AppendRow(out, {"started", info.start_time_utc}, kv);
  AppendRow(out, {"processes / threads",
                  absl::StrCat(FormatCount(info.processes), " / ", FormatCount(info.threads))},
            kv);
  AppendRow(out, {"events", FormatCount(info.events)}, kv);
  AppendRow(out, {"allocations", absl::StrCat(FormatCount(info.allocation_calls), " (",
                                              FormatBytes(info.allocated_bytes), ")")},
            kv);
  AppendRow(out, {"releases", FormatCount(info.releases)}, kv);
  AppendRow(out, {"peak live heap", absl::StrCat(FormatBytes(info.peak_live_bytes), " at ",
                                                 FormatDuration(info.peak_live_ns), " (seq ",
                                                 info.peak_live_seq, ")")},
            kv);
  AppendRow(out, {"leaked at exit", absl::StrCat(FormatBytes(info.leaked_bytes), " in ",
                                                 FormatCount(info.leaked_allocations),
                                                 " allocations")},
            kv);
  if (info.unmatched_releases > 0) {
    AppendRow(out, {"unmatched releases", FormatCount(info.unmatched_releases)}, kv);
  }
  if (info.failed_allocations > 0) {
    AppendRow(out, {"failed allocations", FormatCount(info.failed_allocations)}, kv);
  }
  AppendRow(out, {"distinct stacks", FormatCount(info.distinct_stacks)}, kv);
  if (info.lost_events > 0) AppendRow(out, {"lost events", FormatCount(info.lost_events)}, kv);
  if (!info.complete) AppendRow(out, {"trace", "unfinished: the recording was cut short"}, kv);
  out += "</table>\n";

  // Replays stored in the trace.
  if (reader.HasTable("replays")) {
    ATR_ASSIGN_OR_RETURN(
        QueryCursor q,
        QueryCursor::Run(reader,
                         "SELECT id, allocator, threads, peak_live_bytes, peak_resident_bytes, "
                         "fragmentation_at_peak, jw4, problems, outcome FROM replays ORDER BY id"));
    std::string rows;
    const std::vector<bool> num = {true, false, false, true, true, true, true, true, false};
    while (q.Next()) {
      AppendRow(rows,
                {absl::StrCat(q.Int(0)), q.Text(1), q.Text(2), FormatBytes(q.Int(3)),
                 q.IsNull(4) ? "-" : FormatBytes(q.Int(4)), q.IsNull(5) ? "-" : Percent(q.Real(5)),
                 q.IsNull(6) ? "-" : Percent(q.Real(6)), FormatCount(q.Int(7)), q.Text(8)},
                num);
    }
    ATR_RETURN_IF_ERROR(q.status());
    if (!rows.empty()) {
      out += "<h3>Replays</h3>\n<table>\n";
      AppendRow(out,
                {"id", "allocator", "threads", "peak live", "peak resident",
                 "fragmentation at peak", "peak resident / peak live - 1", "problems", "outcome"},
                num, "th");
      out += rows + "</table>\n";
    }
  }
  out += "</section>\n";
  return absl::OkStatus();
}

void AppendTimeline(const Timeline& t, std::string& out) {
  out += "<section id=\"timeline-section\"><h2>Timeline</h2>\n";
  if (t.series.size() < 2) {
    out += "<p class=\"note\">Run <code>atr replay</code> to add the allocator's resident "
           "memory to this chart.</p>\n";
  }
  AppendChart("timeline", t, {}, out);
  out += "</section>\n";
}

absl::Status AppendFlameGraphs(TraceReader& reader, const HtmlReportOptions& o, std::string& out) {
  out += "<section id=\"flamegraph\"><h2>Flame graphs</h2>\n";
  out += "<p class=\"note\">Allocation call stacks, callers at the bottom. Click a frame to "
         "zoom, hover for its share; warm colours are the program's code, blue the allocator "
         "and the C/C++ runtime.</p>\n";
  std::string tabs, panels;
  for (FlameMetric m : o.flame_metrics) {
    absl::StatusOr<FlameGraph> g = BuildFlameGraph(reader, {.metric = m});
    if (!g.ok()) {
      if (m == FlameMetric::kPinned && g.status().code() == absl::StatusCode::kFailedPrecondition) {
        continue;  // no replay: the fragmentation section says what to run
      }
      return g.status();
    }
    absl::StrAppend(&tabs, "<button class=\"fg-tab\" data-metric=\"", AV(FlameMetricName(m)), "\">",
                    AV(FlameMetricName(m)), "</button>");
    absl::StrAppend(&panels, "<div class=\"fg-panel\" data-metric=\"", AV(FlameMetricName(m)), "\">");
    if (g->total() == 0) {
      absl::StrAppend(&panels, "<p class=\"note\">Nothing to show: no ",
                      Esc(FlameMetricDescription(m)), ".</p>");
    } else {
      panels += RenderFlameSvg(*g, {.subtitle = absl::StrCat(FormatFlameWeight(m, g->total()),
                                                             " in ", FormatCount(g->stacks),
                                                             g->stacks == 1 ? " stack" : " stacks"),
                                    .xml_declaration = false});
    }
    panels += "</div>\n";
  }
  absl::StrAppend(&out, "<div class=\"fg-controls\">", tabs,
                  "<input type=\"search\" placeholder=\"Search frames (regular expression)\">"
                  "</div>\n",
                  panels, "</section>\n");
  return absl::OkStatus();
}

void AppendLeaks(const LeakReport& r, std::string& out) {
  out += "<section id=\"leaks\"><h2>Leaks</h2>\n";
  if (r.leaked_allocations == 0) {
    out += "<p>No leaks: every allocation was released.</p>\n</section>\n";
    return;
  }
  absl::StrAppend(&out, "<p>", Esc(FormatBytes(r.leaked_bytes)), " in ",
                  Esc(FormatCount(r.leaked_allocations)), " allocations were never released, from ",
                  Esc(FormatCount(r.stacks)), r.stacks == 1 ? " stack" : " stacks", ".</p>\n<table>\n");
  AppendRow(out, {"#", "bytes", "blocks", "first seq", "allocation site (click for the stack)"},
            {true, true, true, true, false}, "th");
  for (size_t i = 0; i < r.groups.size(); ++i) {
    const LeakGroup& g = r.groups[i];
    absl::StrAppend(&out, "<tr><td class=\"n\">", i + 1, "</td><td class=\"n\">",
                    Esc(FormatBytes(g.bytes)), "</td><td class=\"n\">",
                    Esc(FormatCount(g.allocations)), "</td><td class=\"n\">", g.first_seq,
                    "</td><td class=\"site\">");
    AppendStackDetails(g.source_site ? g.source_site->label : g.view.site_label, g.view, out);
    out += "</td></tr>\n";
  }
  out += "</table>\n";
  if (static_cast<int64_t>(r.groups.size()) < r.stacks) {
    absl::StrAppend(&out, "<p class=\"note\">", r.stacks - static_cast<int64_t>(r.groups.size()),
                    " more stacks: <code>atr leaks --limit 0</code> lists all.</p>\n");
  }
  out += "</section>\n";
}

absl::Status AppendChecks(TraceReader& reader, const SiteLabels& labels, std::string& out) {
  out += "<section id=\"checks\"><h2>Checks</h2>\n";
  ATR_ASSIGN_OR_RETURN(int64_t id, replay::NewestReplay(reader, "1"));
  if (id == 0 || !reader.HasTable("replay_problems")) {
    out += "<p class=\"note\">Run <code>atr replay</code> (or <code>atr check</code>) to check "
           "every release against its allocation.</p>\n</section>\n";
    return absl::OkStatus();
  }
  // One row per kind; SQLite takes the bare columns from the min(seq) row,
  // so each kind shows its first occurrence.
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(
          reader, absl::StrCat("SELECT kind, count(*), min(coalesce(seq, alloc_seq)), stack, "
                               "alloc_stack, detail FROM replay_problems WHERE replay_id = ",
                               id, " GROUP BY kind ORDER BY kind = 'leak', count(*) DESC, kind")));
  struct Row {
    std::string kind;
    int64_t count, seq, stack;
    std::string detail;
  };
  std::vector<Row> rows;
  while (q.Next()) {
    rows.push_back({q.Text(0), q.Int(1), q.Int(2), q.IsNull(3) ? q.Int(4) : q.Int(3), q.Text(5)});
  }
  ATR_RETURN_IF_ERROR(q.status());
  if (rows.empty()) {
    absl::StrAppend(&out, "<p>Replay ", id, " found no problems.</p>\n</section>\n");
    return absl::OkStatus();
  }
  absl::StrAppend(&out, "<p>Problems found by replay ", id, ":</p>\n<table>\n");
  AppendRow(out, {"problem", "count", "first seq", "first occurrence"}, {false, true, true, false},
            "th");
  StackViews views(&reader);
  for (const Row& r : rows) {
    absl::StrAppend(&out, "<tr><td>", Esc(absl::StrReplaceAll(r.kind, {{"_", " "}})),
                    "</td><td class=\"n\">", Esc(FormatCount(r.count)), "</td><td class=\"n\">",
                    r.seq, "</td><td class=\"site\">");
    if (!r.detail.empty()) absl::StrAppend(&out, "<div>", Esc(r.detail), "</div>");
    if (r.stack != 0) {
      ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(r.stack));
      AppendStackDetails(labels.Label(*v), *v, out);
    }
    out += "</td></tr>\n";
  }
  out += "</table>\n</section>\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RenderHtmlReport(TraceReader& reader, const HtmlReportOptions& o) {
  ATR_ASSIGN_OR_RETURN(TraceInfo info, ComputeInfo(reader));
  ATR_ASSIGN_OR_RETURN(Timeline timeline, ComputeTimeline(reader, o.timeline_points));
  ATR_ASSIGN_OR_RETURN(LeakReport leaks, ComputeLeaks(reader, {.limit = o.leak_limit}));
  std::optional<FragReport> frag = o.fragmentation;
  if (!frag) {
    absl::StatusOr<FragReport> f = ComputeFrag(reader, {.replay_id = std::nullopt, .limit = o.cause_limit});
    if (f.ok()) {
      frag = *std::move(f);
    } else if (f.status().code() != absl::StatusCode::kFailedPrecondition) {
      return f.status();  // kFailedPrecondition: no built-in replay with a snapshot
    }
  }
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));

  std::string program = info.argv.empty() ? reader.path() : info.argv[0];
  program = program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  std::string out;
  absl::StrAppend(&out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
                  "<title>atr report: ", Esc(program), "</title>\n",
                  "<script>\n", AV(kReportErrorsJs), "</script>\n<style>\n", AV(kReportCss), "</style>\n</head>\n<body>\n");
  absl::StrAppend(&out, "<header><h1>atr report: ", Esc(program), "</h1>\n<div class=\"cmd\">",
                  Esc(absl::StrJoin(info.argv, " ")), "</div>\n",
                  "<nav><a href=\"#summary\">Summary</a><a href=\"#timeline-section\">Timeline</a>"
                  "<a href=\"#stack-section\">Stack depth</a><a href=\"#flamegraph\">Flame "
                  "graphs</a><a href=\"#fragmentation\">Fragmentation"
                  "</a><a href=\"#leaks\">Leaks</a><a href=\"#checks\">Checks</a></nav></header>\n",
                  "<main>\n<div id=\"js-errors\" hidden></div>\n");
  ATR_RETURN_IF_ERROR(AppendSummary(reader, info, out));
  AppendTimeline(timeline, out);
  ATR_RETURN_IF_ERROR(AppendStackDepth(reader, o, timeline.x_is_seq, out));
  ATR_RETURN_IF_ERROR(AppendFlameGraphs(reader, o, out));
  AppendFragmentation(frag, out);
  AppendLeaks(leaks, out);
  ATR_RETURN_IF_ERROR(AppendChecks(reader, labels, out));
  absl::StrAppend(&out, "</main>\n<footer>Generated by atr ", ATR_VERSION, " on ",
                  Esc(o.generated_utc.empty() ? UtcNow("%Y-%m-%d %H:%M:%S UTC") : o.generated_utc), " from ",
                  Esc(reader.path()), ". Self-contained: no network access.</footer>\n",
                  "<script>\n", AV(kReportJs), "</script>\n</body>\n</html>\n");
  return out;
}

}  // namespace atr
