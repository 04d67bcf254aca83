#include "analysis/html_report/html_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "analysis/flamegraph/flame_svg.h"
#include "analysis/html_report/html_parts.h"
#include "analysis/format/text_table.h"
#include "analysis/reports/info_report.h"
#include "analysis/reports/leaks_report.h"
#include "analysis/stacks/site_label.h"
#include "analysis/stacks/stack_view.h"
#include "db/query.h"
#include "replayer/replay_store.h"

namespace atr {
namespace {

using html::AppendCard;
using html::AppendChart;
using html::AppendFragmentation;
using html::AppendRow;
using html::AppendStackDepth;
using html::AppendStackDetails;
using html::AV;
using html::Esc;
using html::Percent;

absl::StatusOr<int64_t> QueryInt(const TraceReader& reader, const std::string& sql) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(reader, sql);
  if (!q.ok()) return q.status();
  int64_t v = 0;
  if (q->Next()) v = q->Int(0);
  if (!q->status().ok()) return q->status();
  return v;
}

absl::StatusOr<bool> TableExists(const TraceReader& reader, std::string_view name) {
  absl::StatusOr<int64_t> n = QueryInt(
      reader, absl::StrCat("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '",
                           AV(name), "'"));
  if (!n.ok()) return n.status();
  return *n > 0;
}

// Keeps at most `points` points: the biggest y of each run of consecutive
// points, so peaks survive the thinning.
std::vector<std::pair<int64_t, int64_t>> Thin(std::vector<std::pair<int64_t, int64_t>> in,
                                              int points) {
  if (points <= 0 || static_cast<int>(in.size()) <= points) return in;
  const size_t k = (in.size() + points - 1) / points;
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i < in.size(); i += k) {
    auto best = in.begin() + i;
    for (size_t j = i; j < std::min(in.size(), i + k); ++j) {
      if (in[j].second > best->second) best = in.begin() + j;
    }
    out.push_back(*best);
  }
  return out;
}

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// ---------------------------------------------------------------- page parts

constexpr std::string_view kErrorHook = R"JS(
window.atrErrors = [];
function atrRecordError(msg) {
  window.atrErrors.push(String(msg));
  document.documentElement.setAttribute('data-js-errors', String(window.atrErrors.length));
  var box = document.getElementById('js-errors');
  if (box) { box.hidden = false; box.textContent = 'Script errors: ' + window.atrErrors.join('; '); }
}
window.addEventListener('error', function (e) { atrRecordError(e.message || 'error'); });
window.addEventListener('unhandledrejection', function (e) { atrRecordError('unhandled rejection: ' + e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    atrRecordError(Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
)JS";

constexpr std::string_view kStyle = R"CSS(
:root { --fg: #1d1f24; --muted: #5f6670; --line: #d9dce1; --accent: #c2410c; --bg: #ffffff; --panel: #f7f7f4; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 18px 28px 12px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .cmd { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; color: var(--muted); word-break: break-all; }
nav { margin-top: 8px; }
nav a { margin-right: 14px; color: #1a56a8; text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1280px; }
section { margin-top: 26px; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); display: inline-block; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.site, .stack { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12.5px; }
details summary { cursor: pointer; }
.stack { white-space: pre; color: var(--muted); margin: 4px 0 6px; overflow-x: auto; }
.note { color: var(--muted); font-style: italic; }
.chart-box { border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; overflow-x: auto; }
.chart text { font: 11px system-ui, 'DejaVu Sans', sans-serif; fill: #444; }
.chart .grid { stroke: #eceef1; }
.chart .axis { stroke: #888; }
.fg-controls { margin: 4px 0 8px; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.fg-tab { border: 1px solid var(--line); background: var(--panel); padding: 4px 12px; border-radius: 14px; cursor: pointer; font: inherit; }
.fg-tab.active { background: var(--accent); border-color: var(--accent); color: #fff; }
.fg-controls input { margin-left: 12px; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; font: inherit; width: 260px; }
.fg-panel svg { max-width: 100%; height: auto; }
#js-errors { background: #fee; color: #900; padding: 8px; border: 1px solid #c00; }
footer { color: var(--muted); font-size: 12px; padding: 12px 28px; border-top: 1px solid var(--line); }
)CSS";

constexpr std::string_view kPageScript = R"JS(
(function () {
  // Flame graph tabs and search.
  var tabs = document.querySelectorAll('.fg-tab'), panels = document.querySelectorAll('.fg-panel');
  var input = document.querySelector('.fg-controls input');
  function select(metric) {
    tabs.forEach(function (t) { t.classList.toggle('active', t.getAttribute('data-metric') === metric); });
    panels.forEach(function (p) { p.style.display = p.getAttribute('data-metric') === metric ? '' : 'none'; });
  }
  tabs.forEach(function (t) { t.addEventListener('click', function () { select(t.getAttribute('data-metric')); }); });
  if (tabs.length) select(tabs[0].getAttribute('data-metric'));
  if (input) input.addEventListener('input', function () {
    document.querySelectorAll('svg.atr-flamegraph').forEach(function (s) { if (s.atrFlame) s.atrFlame.search(input.value); });
  });

  // Charts: every .chart-box with a data-chart attribute naming the id of
  // its JSON (AppendChartData): the timeline and the stack depths.
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmtBytes(v) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(v) >= 1024 && i + 1 < u.length) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0)) + ' ' + u[i];
  }
  function niceStep(range, n, binary) {
    var raw = range / n;
    if (binary && raw >= 1) return Math.pow(2, Math.ceil(Math.log2(raw)));
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function drawChart(box, data) {
    var W = 1180, H = 360, L = 78, R = 24, T = 16, B = 44;
    // step (optional): the tick spacing, so zoomed ticks get the decimals
    // that tell them apart.
    function fmtX(v, step) {
      if (data.x_is_seq) return 'seq ' + Math.round(v);
      function fixed(unit, digits) {
        if (step) digits = Math.max(digits, Math.min(6, Math.ceil(-Math.log10(step / unit))));
        return (v / unit).toFixed(digits);
      }
      if (v >= 1e9) return fixed(1e9, v >= 1e10 ? 1 : 2) + ' s';
      if (v >= 1e6) return fixed(1e6, v >= 1e7 ? 0 : 1) + ' ms';
      if (v >= 1e3) return fixed(1e3, 0) + ' \u00b5s';
      return v.toFixed(0) + ' ns';
    }
    var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'class': 'chart'}, box);
    // x from 0, or (zoom_to_data) from the first point.
    var xmin = data.zoom_to_data ? Infinity : 0, xmax = 0, ymax = 0;
    data.series.forEach(function (s) {
      s.points.forEach(function (p) {
        xmin = Math.min(xmin, p[0]); xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]);
      });
    });
    if (!isFinite(xmin)) xmin = 0;
    if (xmax <= xmin) xmax = xmin + 1;
    if (ymax <= 0) ymax = 1;
    var ystep = niceStep(ymax, 6, true);
    ymax = Math.ceil(ymax * 1.05 / ystep) * ystep;
    var xstep = niceStep(xmax - xmin, 10, false);
    function X(v) { return L + (W - L - R) * (v - xmin) / (xmax - xmin); }
    function Y(v) { return H - B - (H - T - B) * v / ymax; }
    for (var y = 0; y <= ymax + 0.5; y += ystep) {
      el('line', {x1: L, x2: W - R, y1: Y(y), y2: Y(y), 'class': 'grid'}, svg);
      el('text', {x: L - 6, y: Y(y) + 4, 'text-anchor': 'end'}, svg).textContent = fmtBytes(y);
    }
    for (var x = Math.ceil(xmin / xstep) * xstep; x <= xmax + (xmax - xmin) * 1e-4; x += xstep) {
      el('line', {x1: X(x), x2: X(x), y1: T, y2: H - B, 'class': 'grid'}, svg);
      el('text', {x: X(x), y: H - B + 16, 'text-anchor': 'middle'}, svg).textContent = fmtX(x, xstep);
    }
    el('line', {x1: L, x2: W - R, y1: H - B, y2: H - B, 'class': 'axis'}, svg);
    el('line', {x1: L, x2: L, y1: T, y2: H - B, 'class': 'axis'}, svg);
    el('text', {x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle'}, svg).textContent =
        data.x_is_seq ? 'event sequence number' : 'time since the start of the recording';
    data.series.forEach(function (s, i) {
      if (!s.points.length) return;
      var d = s.points.map(function (p, j) { return (j ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); }).join(' ');
      if (i === 0 && data.fill_first) {
        var last = s.points[s.points.length - 1], first = s.points[0];
        el('path', {d: d + ' L' + X(last[0]).toFixed(1) + ' ' + Y(0) + ' L' + X(first[0]).toFixed(1) + ' ' + Y(0) + ' Z',
                    fill: s.color, 'fill-opacity': 0.12, stroke: 'none'}, svg);
      }
      el('path', {d: d, fill: 'none', stroke: s.color, 'stroke-width': i === 0 ? 1.8 : 1.5,
                  'stroke-linejoin': 'round', 'class': 'series'}, svg);
      el('rect', {x: L + 14, y: T + 8 + 18 * i, width: 14, height: 4, fill: s.color}, svg);
      el('text', {x: L + 34, y: T + 14 + 18 * i}, svg).textContent = s.name;
    });
    if (data.peak_bytes > 0) {
      el('circle', {cx: X(data.peak_x), cy: Y(data.peak_bytes), r: 4, fill: '#c2410c'}, svg);
      var right = X(data.peak_x) > W - 240;
      el('text', {x: X(data.peak_x) + (right ? -8 : 8), y: Y(data.peak_bytes) - 6,
                  'text-anchor': right ? 'end' : 'start'}, svg).textContent =
          data.peak_name + ' ' + fmtBytes(data.peak_bytes) + ' at ' + fmtX(data.peak_x);
    }
    // Hover: a cursor line and each series' value there.
    var cursor = el('line', {y1: T, y2: H - B, stroke: '#999', 'stroke-dasharray': '3 3', visibility: 'hidden'}, svg);
    var readout = el('text', {x: W - R, y: T + 12, 'text-anchor': 'end', visibility: 'hidden'}, svg);
    function valueAt(points, x) {
      var lo = 0, hi = points.length - 1;
      if (hi < 0 || x < points[0][0]) return null;
      while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (points[mid][0] <= x) lo = mid; else hi = mid - 1; }
      return points[lo][1];
    }
    svg.addEventListener('mousemove', function (e) {
      var r = svg.getBoundingClientRect(), px = (e.clientX - r.left) * W / r.width;
      if (px < L || px > W - R) { cursor.setAttribute('visibility', 'hidden'); readout.setAttribute('visibility', 'hidden'); return; }
      var x = xmin + (px - L) * (xmax - xmin) / (W - L - R);
      cursor.setAttribute('x1', px); cursor.setAttribute('x2', px); cursor.setAttribute('visibility', 'visible');
      readout.textContent = fmtX(x) + ': ' + data.series.map(function (s) {
        var v = valueAt(s.points, x); return s.name.split(' (')[0] + ' ' + (v === null ? '-' : fmtBytes(v));
      }).join(', ');
      readout.setAttribute('visibility', 'visible');
    });
    svg.addEventListener('mouseleave', function () { cursor.setAttribute('visibility', 'hidden'); readout.setAttribute('visibility', 'hidden'); });
    box.setAttribute('data-drawn', '1');
  }
  document.querySelectorAll('.chart-box[data-chart]').forEach(function (box) {
    drawChart(box, JSON.parse(document.getElementById(box.getAttribute('data-chart')).textContent));
  });
})();
)JS";

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
  absl::StatusOr<bool> has = TableExists(reader, "replays");
  if (!has.ok()) return has.status();
  if (*has) {
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(
        reader,
        "SELECT id, allocator, threads, peak_live_bytes, peak_resident_bytes, "
        "fragmentation_at_peak, jw4, problems, outcome FROM replays ORDER BY id");
    if (!q.ok()) return q.status();
    std::string rows;
    const std::vector<bool> num = {true, false, false, true, true, true, true, true, false};
    while (q->Next()) {
      AppendRow(rows,
                {absl::StrCat(q->Int(0)), q->Text(1), q->Text(2), FormatBytes(q->Int(3)),
                 q->IsNull(4) ? "-" : FormatBytes(q->Int(4)),
                 q->IsNull(5) ? "-" : Percent(q->Real(5)), q->IsNull(6) ? "-" : Percent(q->Real(6)),
                 FormatCount(q->Int(7)), q->Text(8)},
                num);
    }
    if (!q->status().ok()) return q->status();
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
  absl::StatusOr<int64_t> id = replay::NewestReplay(reader, "1");
  if (!id.ok()) return id.status();
  absl::StatusOr<bool> has = TableExists(reader, "replay_problems");
  if (!has.ok()) return has.status();
  if (*id == 0 || !*has) {
    out += "<p class=\"note\">Run <code>atr replay</code> (or <code>atr check</code>) to check "
           "every release against its allocation.</p>\n</section>\n";
    return absl::OkStatus();
  }
  // One row per kind; SQLite takes the bare columns from the min(seq) row,
  // so each kind shows its first occurrence.
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      reader, absl::StrCat("SELECT kind, count(*), min(coalesce(seq, alloc_seq)), stack, "
                           "alloc_stack, detail FROM replay_problems WHERE replay_id = ",
                           *id, " GROUP BY kind ORDER BY kind = 'leak', count(*) DESC, kind"));
  if (!q.ok()) return q.status();
  struct Row {
    std::string kind;
    int64_t count, seq, stack;
    std::string detail;
  };
  std::vector<Row> rows;
  while (q->Next()) {
    rows.push_back({q->Text(0), q->Int(1), q->Int(2), q->IsNull(3) ? q->Int(4) : q->Int(3),
                    q->Text(5)});
  }
  if (!q->status().ok()) return q->status();
  if (rows.empty()) {
    absl::StrAppend(&out, "<p>Replay ", *id, " found no problems.</p>\n</section>\n");
    return absl::OkStatus();
  }
  absl::StrAppend(&out, "<p>Problems found by replay ", *id, ":</p>\n<table>\n");
  AppendRow(out, {"problem", "count", "first seq", "first occurrence"}, {false, true, true, false},
            "th");
  StackViews views(&reader);
  for (const Row& r : rows) {
    absl::StrAppend(&out, "<tr><td>", Esc(absl::StrReplaceAll(r.kind, {{"_", " "}})),
                    "</td><td class=\"n\">", Esc(FormatCount(r.count)), "</td><td class=\"n\">",
                    r.seq, "</td><td class=\"site\">");
    if (!r.detail.empty()) absl::StrAppend(&out, "<div>", Esc(r.detail), "</div>");
    if (r.stack != 0) {
      absl::StatusOr<const StackView*> v = views.Get(r.stack);
      if (!v.ok()) return v.status();
      AppendStackDetails(labels.Label(**v), **v, out);
    }
    out += "</td></tr>\n";
  }
  out += "</table>\n</section>\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Timeline> ComputeTimeline(TraceReader& reader, int points) {
  Timeline t;
  points = std::max(points, 2);
  absl::StatusOr<int64_t> max_seq = QueryInt(reader, "SELECT coalesce(max(seq), 0) FROM event_log");
  if (!max_seq.ok()) return max_seq.status();
  absl::StatusOr<int64_t> max_ts =
      QueryInt(reader, "SELECT coalesce(max(ts_ns), 0) FROM event_log WHERE seq >= "
                       "(SELECT max(seq) FROM event_log) - 1000");
  if (!max_ts.ok()) return max_ts.status();
  t.x_is_seq = *max_ts <= 0;
  const int64_t width = std::max<int64_t>(1, (*max_seq + points - 1) / points);
  const int64_t buckets = *max_seq / width + 1;

  std::map<int64_t, int64_t> live_at_end;
  {
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(
        reader, absl::StrReplaceAll(kTimelineLiveSql, {{"?1", absl::StrCat(width)}}));
    if (!q.ok()) return q.status();
    while (q->Next()) live_at_end[q->Int(0)] = q->Int(1);
    if (!q->status().ok()) return q->status();
  }
  // x of each bucket's end: its last seq, or that seq's timestamp.
  std::vector<int64_t> xs(buckets, 0);
  for (int64_t b = 0; b < buckets; ++b) xs[b] = std::min((b + 1) * width - 1, *max_seq);
  if (!t.x_is_seq) {
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(
        reader,
        absl::StrCat("WITH RECURSIVE k(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM k WHERE b < ",
                     buckets - 1, ") SELECT b, (SELECT ts_ns FROM event_log WHERE seq <= min((b + 1) * ",
                     width, " - 1, ", *max_seq, ") ORDER BY seq DESC LIMIT 1) FROM k"));
    if (!q.ok()) return q.status();
    while (q->Next()) {
      const int64_t b = q->Int(0);
      if (b >= 0 && b < buckets) xs[b] = q->Int(1);
    }
    if (!q->status().ok()) return q->status();
  }
  TimelineSeries live{.name = "live heap (requested bytes)", .color = "#c2410c", .points = {}};
  live.points.emplace_back(0, 0);
  int64_t current = 0;
  for (int64_t b = 0; b < buckets; ++b) {
    if (auto it = live_at_end.find(b); it != live_at_end.end()) current = it->second;
    live.points.emplace_back(xs[b], current);
  }
  t.peak_bytes = reader.MetaInt("alloc_peak_live_bytes").value_or(0);
  const int64_t peak_seq = reader.MetaInt("alloc_peak_live_seq").value_or(0);
  if (t.peak_bytes > 0 && peak_seq > 0) {
    t.peak_x = peak_seq;
    if (!t.x_is_seq) {
      absl::StatusOr<int64_t> ts =
          QueryInt(reader, absl::StrCat("SELECT ts_ns FROM event_log WHERE seq = ", peak_seq));
      if (!ts.ok()) return ts.status();
      t.peak_x = *ts;
    }
    live.points.emplace_back(t.peak_x, t.peak_bytes);
    std::stable_sort(live.points.begin(), live.points.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  t.series.push_back(std::move(live));

  // The replays' resident memory.
  struct Wanted {
    std::string where, name_prefix, color;
  };
  for (const Wanted& w : {Wanted{"allocator = 'builtin'", "modelled resident", "#1a56a8"},
                          Wanted{"allocator <> 'builtin'", "real RSS", "#2f8f3a"}}) {
    absl::StatusOr<int64_t> id = replay::NewestReplay(reader, w.where);
    if (!id.ok()) return id.status();
    if (*id == 0) continue;
    std::string allocator;
    {
      absl::StatusOr<QueryCursor> q =
          QueryCursor::Run(reader, absl::StrCat("SELECT allocator FROM replays WHERE id = ", *id));
      if (!q.ok()) return q.status();
      if (q->Next()) allocator = q->Text(0);
    }
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(
        reader, absl::StrCat("SELECT s.seq, coalesce(e.ts_ns, 0), s.resident_bytes FROM "
                             "replay_samples s LEFT JOIN event_log e ON e.seq = s.seq WHERE "
                             "s.replay_id = ", *id, " AND s.resident_bytes IS NOT NULL ORDER BY s.seq"));
    if (!q.ok()) return q.status();
    std::vector<std::pair<int64_t, int64_t>> pts;
    while (q->Next()) pts.emplace_back(t.x_is_seq ? q->Int(0) : q->Int(1), q->Int(2));
    if (!q->status().ok()) return q->status();
    if (pts.empty()) continue;
    std::stable_sort(pts.begin(), pts.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    t.series.push_back({.name = absl::StrCat(w.name_prefix, " (", allocator, ", replay ", *id, ")"),
                        .color = w.color,
                        .points = Thin(std::move(pts), points)});
  }
  return t;
}

absl::StatusOr<std::string> RenderHtmlReport(TraceReader& reader, const HtmlReportOptions& o) {
  absl::StatusOr<TraceInfo> info = ComputeInfo(reader);
  if (!info.ok()) return info.status();
  absl::StatusOr<Timeline> timeline = ComputeTimeline(reader, o.timeline_points);
  if (!timeline.ok()) return timeline.status();
  absl::StatusOr<LeakReport> leaks = ComputeLeaks(reader, {.limit = o.leak_limit});
  if (!leaks.ok()) return leaks.status();
  std::optional<FragReport> frag = o.fragmentation;
  if (!frag) {
    absl::StatusOr<FragReport> f = ComputeFrag(reader, {.replay_id = std::nullopt, .limit = o.cause_limit});
    if (f.ok()) {
      frag = *std::move(f);
    } else if (f.status().code() != absl::StatusCode::kFailedPrecondition) {
      return f.status();  // kFailedPrecondition: no built-in replay with a snapshot
    }
  }
  absl::StatusOr<SiteLabels> labels = SiteLabels::Load(reader);
  if (!labels.ok()) return labels.status();

  std::string program = info->argv.empty() ? reader.path() : info->argv[0];
  program = program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  std::string out;
  absl::StrAppend(&out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
                  "<title>atr report: ", Esc(program), "</title>\n",
                  "<script>", AV(kErrorHook), "</script>\n<style>", AV(kStyle), "</style>\n</head>\n<body>\n");
  absl::StrAppend(&out, "<header><h1>atr report: ", Esc(program), "</h1>\n<div class=\"cmd\">",
                  Esc(absl::StrJoin(info->argv, " ")), "</div>\n",
                  "<nav><a href=\"#summary\">Summary</a><a href=\"#timeline-section\">Timeline</a>"
                  "<a href=\"#stack-section\">Stack depth</a><a href=\"#flamegraph\">Flame graphs</a><a href=\"#fragmentation\">Fragmentation"
                  "</a><a href=\"#leaks\">Leaks</a><a href=\"#checks\">Checks</a></nav></header>\n",
                  "<main>\n<div id=\"js-errors\" hidden></div>\n");
  if (absl::Status s = AppendSummary(reader, *info, out); !s.ok()) return s;
  AppendTimeline(*timeline, out);
  if (absl::Status s = AppendStackDepth(reader, o, timeline->x_is_seq, out); !s.ok()) return s;
  if (absl::Status s = AppendFlameGraphs(reader, o, out); !s.ok()) return s;
  AppendFragmentation(frag, out);
  AppendLeaks(*leaks, out);
  if (absl::Status s = AppendChecks(reader, *labels, out); !s.ok()) return s;
  absl::StrAppend(&out, "</main>\n<footer>Generated by atr ", ATR_VERSION, " on ",
                  Esc(o.generated_utc.empty() ? UtcNow() : o.generated_utc), " from ",
                  Esc(reader.path()), ". Self-contained: no network access.</footer>\n",
                  "<script>", AV(kPageScript), "</script>\n</body>\n</html>\n");
  return out;
}

}  // namespace atr
