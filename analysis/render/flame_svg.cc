#include "analysis/render/flame_svg.h"

#include <cstdio>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "analysis/render/markup.h"
#include "base/number_format.h"

namespace atr {
namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Monospace text: width per character at font-size 12 (DejaVu Sans Mono,
// Menlo and Consolas are all 0.6 em), used to clip names to their frame.
constexpr double kCharWidth = 7.22;
constexpr int kFontSize = 12;
constexpr int kPad = 10;       // left/right margin
constexpr int kTop = 64;       // title, subtitle and controls above the frames
constexpr int kBottom = 28;    // details line below

// The script of every flame graph: zoom, reset, search, details line.
// Written for this generator; reads the layout back from the data-*
// attributes it emits (data-o offset and data-w weight in metric units,
// data-d depth).
constexpr std::string_view kScript = R"JS(
(function () {
  var svg = document.currentScript && document.currentScript.ownerSVGElement;
  if (!svg) { var all = document.getElementsByTagName('svg'); svg = all[all.length - 1]; }
  var W = +svg.getAttribute('data-width'), PAD = +svg.getAttribute('data-pad');
  var TOTAL = +svg.getAttribute('data-total'), CW = +svg.getAttribute('data-char-width');
  var details = svg.querySelector('.fg-details'), matched = svg.querySelector('.fg-matched');
  var reset = svg.querySelector('.fg-reset'), searchButton = svg.querySelector('.fg-search');
  var frames = [], zoomed = null, term = null;
  svg.querySelectorAll('g.fg-f').forEach(function (g) {
    var lines = g.querySelector('title').textContent.split('\n');
    var f = {g: g, o: +g.getAttribute('data-o'), w: +g.getAttribute('data-w'),
             d: +g.getAttribute('data-d'), name: lines[0], info: lines[1] || '',
             sites: lines.slice(2).join('\n'),
             rect: g.querySelector('rect'), text: g.querySelector('text'), m: false};
    f.fill = f.rect.getAttribute('fill');
    g.atrFrame = f;
    frames.push(f);
  });
  function fit(f, x, w) {
    f.rect.setAttribute('x', x.toFixed(2));
    f.rect.setAttribute('width', Math.max(w - 0.5, 0.1).toFixed(2));
    f.text.setAttribute('x', (x + 3).toFixed(2));
    var n = Math.floor((w - 6) / CW), s = f.name;
    if (n < 3) s = ''; else if (s.length > n) s = s.substring(0, n - 2) + '..';
    f.text.textContent = s;
  }
  function inRange(f, o, w) { return f.o >= o && f.o + f.w <= o + w; }
  function zoom(z) {
    zoomed = z;
    var zo = z ? z.o : 0, zw = z ? z.w : TOTAL, zd = z ? z.d : 0, scale = (W - 2 * PAD) / zw;
    frames.forEach(function (f) {
      if (f.d >= zd && inRange(f, zo, zw)) {
        f.g.style.display = ''; f.g.classList.remove('fg-anc');
        fit(f, PAD + (f.o - zo) * scale, f.w * scale);
      } else if (f.d < zd && f.o <= zo && f.o + f.w >= zo + zw) {
        f.g.style.display = ''; f.g.classList.add('fg-anc');
        fit(f, PAD, W - 2 * PAD);
      } else {
        f.g.style.display = 'none';
      }
    });
    reset.style.display = z ? '' : 'none';
    showMatched();
  }
  function showMatched() {
    if (!term) { matched.textContent = ''; return; }
    var zo = zoomed ? zoomed.o : 0, zw = zoomed ? zoomed.w : TOTAL, sum = 0, end = -1;
    frames.filter(function (f) { return f.m && inRange(f, zo, zw); })
      .sort(function (a, b) { return a.o - b.o || a.d - b.d; })
      .forEach(function (f) { if (f.o >= end) { sum += f.w; end = f.o + f.w; } });
    matched.textContent = 'Matched: ' + (zw > 0 ? 100 * sum / zw : 0).toFixed(1) + '%';
  }
  function search(t) {
    term = t ? String(t) : null;
    var re = null;
    if (term) {
      try { re = new RegExp(term); }
      catch (e) { re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')); }
    }
    frames.forEach(function (f) {
      f.m = !!re && (re.test(f.name) || (f.sites !== '' && re.test(f.sites)));
      f.rect.setAttribute('fill', f.m ? 'rgb(230,0,230)' : f.fill);
    });
    searchButton.textContent = term ? 'Clear search' : 'Search';
    showMatched();
  }
  function ask() {
    if (term) { search(null); return; }
    var t = window.prompt('Search frames (regular expression)', '');
    if (t) search(t);
  }
  svg.addEventListener('click', function (e) {
    var g = e.target.closest && e.target.closest('g.fg-f');
    if (g) zoom(g.atrFrame.d === 0 ? null : g.atrFrame);
  });
  svg.addEventListener('mouseover', function (e) {
    var g = e.target.closest && e.target.closest('g.fg-f');
    details.textContent = g ? g.atrFrame.name + '  ' + g.atrFrame.info +
        (g.atrFrame.sites ? '  \u2014 ' + g.atrFrame.sites.split('\n')[0] : '') : ' ';
  });
  reset.addEventListener('click', function () { zoom(null); });
  searchButton.addEventListener('click', ask);
  if (document.documentElement === svg) {
    window.addEventListener('keydown', function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); ask(); }
      else if (e.key === 'Escape') { zoom(null); search(null); }
    });
  }
  svg.atrFlame = {search: search, reset: function () { zoom(null); }};
  zoom(null);
  svg.setAttribute('data-drawn', '1');
})();
)JS";

uint32_t NameHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

std::string FrameFill(const FlameNode& n, bool root) {
  const uint32_t h = NameHash(n.name);
  const double a = (h & 0xff) / 255.0, b = ((h >> 8) & 0xff) / 255.0;
  int r, g, bl;
  if (root || n.unknown) {
    r = g = bl = 190 + static_cast<int>(25 * a);
  } else if (n.runtime) {  // cool: allocator, libc, libstdc++, std::
    r = 95 + static_cast<int>(50 * a);
    g = 150 + static_cast<int>(45 * b);
    bl = 215 + static_cast<int>(35 * a);
  } else {  // warm: the program's own code
    r = 225 + static_cast<int>(30 * a);
    g = 90 + static_cast<int>(120 * b);
    bl = 40 + static_cast<int>(30 * a);
    if (n.inlined) {  // lighter: a call the compiler inlined
      r = (r + 255) / 2;
      g = (g + 255) / 2;
      bl = (bl + 255) / 2;
    }
  }
  return absl::StrCat("rgb(", r, ",", g, ",", bl, ")");
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// Cuts to at most `chars` characters (not bytes: UTF-8 sequences stay whole).
std::string ClipName(const std::string& name, double width_px) {
  const int chars = static_cast<int>((width_px - 6) / kCharWidth);
  if (chars < 3) return "";
  size_t count = 0, i = 0;
  std::vector<size_t> starts;
  for (; i < name.size(); ++i) {
    if ((static_cast<uint8_t>(name[i]) & 0xC0) != 0x80) {
      starts.push_back(i);
      ++count;
    }
  }
  if (static_cast<int>(count) <= chars) return name;
  return name.substr(0, starts[chars - 2]) + "..";
}

}  // namespace

std::string FormatFlameWeight(FlameMetric m, int64_t weight) {
  if (m == FlameMetric::kCalls) {
    return absl::StrCat(FormatCount(weight), weight == 1 ? " allocation" : " allocations");
  }
  return FormatBytes(weight);
}

std::string RenderFlameSvg(const FlameGraph& g, const FlameSvgOptions& o) {
  const int width = o.width;
  const int fh = o.frame_height;
  const int height = kTop + (g.max_depth + 1) * fh + kBottom;
  const double total = static_cast<double>(g.total());
  const double scale = total > 0 ? (width - 2.0 * kPad) / total : 0;
  const std::string title =
      o.title.empty() ? absl::StrCat("Flame graph: ", AV(FlameMetricDescription(g.metric))) : o.title;
  std::string subtitle = o.subtitle;
  if (subtitle.empty()) {
    subtitle = absl::StrCat(g.trace_path, " \xE2\x80\x94 ", FormatFlameWeight(g.metric, g.total()),
                            " in ", FormatCount(g.stacks), g.stacks == 1 ? " stack" : " stacks");
    if (g.metric == FlameMetric::kPinned) absl::StrAppend(&subtitle, " (replay ", g.replay_id, ")");
  }

  std::string out;
  out.reserve(256 + g.nodes.size() * 220);
  if (o.xml_declaration) out += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
  absl::StrAppend(&out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"atr-flamegraph\" width=\"",
                  width, "\" height=\"", height, "\" viewBox=\"0 0 ", width, " ", height,
                  "\" data-width=\"", width, "\" data-pad=\"", kPad, "\" data-total=\"",
                  g.total(), "\" data-char-width=\"", kCharWidth, "\" data-metric=\"",
                  AV(FlameMetricName(g.metric)), "\">\n");
  absl::StrAppend(
      &out, "<style>\n",
      ".atr-flamegraph text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; "
      "font-size: ", kFontSize, "px; fill: #222; }\n",
      ".atr-flamegraph .fg-title { font-size: 17px; font-weight: bold; }\n",
      ".atr-flamegraph .fg-button { cursor: pointer; fill: #1a56a8; text-decoration: underline; }\n",
      ".atr-flamegraph g.fg-f { cursor: pointer; }\n",
      ".atr-flamegraph g.fg-f text { pointer-events: none; }\n",
      ".atr-flamegraph g.fg-f:hover rect { stroke: #000; stroke-width: 0.8; }\n",
      ".atr-flamegraph g.fg-anc { opacity: 0.6; }\n",
      "</style>\n");
  absl::StrAppend(&out, "<rect x=\"0\" y=\"0\" width=\"", width, "\" height=\"", height,
                  "\" fill=\"#fbfbf6\"/>\n");
  absl::StrAppend(&out, "<text class=\"fg-title\" x=\"", width / 2, "\" y=\"24\" text-anchor=\"middle\">");
  AppendEscapedMarkup(out, title);
  absl::StrAppend(&out, "</text>\n<text x=\"", width / 2, "\" y=\"44\" text-anchor=\"middle\">");
  AppendEscapedMarkup(out, subtitle);
  absl::StrAppend(&out, "</text>\n",
                  "<text class=\"fg-button fg-reset\" x=\"", kPad, "\" y=\"24\">Reset Zoom</text>\n",
                  "<text class=\"fg-button fg-search\" x=\"", width - kPad,
                  "\" y=\"24\" text-anchor=\"end\">Search</text>\n",
                  "<text class=\"fg-matched\" x=\"", width - kPad, "\" y=\"", height - 10,
                  "\" text-anchor=\"end\"></text>\n",
                  "<text class=\"fg-details\" x=\"", kPad, "\" y=\"", height - 10, "\"> </text>\n");

  // Frames in DFS order; offsets accumulate left to right among siblings.
  std::vector<std::pair<int, int64_t>> todo;  // node, offset
  if (!g.nodes.empty() && g.total() > 0) todo.emplace_back(0, 0);
  while (!todo.empty()) {
    auto [i, offset] = todo.back();
    todo.pop_back();
    const FlameNode& n = g.nodes[i];
    const double w = n.total * scale;
    if (w < o.min_frame_px) continue;
    const double x = kPad + offset * scale;
    const int y = kTop + (g.max_depth - n.depth) * fh;
    const std::string share = Fixed(100.0 * n.total / total);
    absl::StrAppend(&out, "<g class=\"fg-f\" data-o=\"", offset, "\" data-w=\"", n.total,
                    "\" data-d=\"", n.depth, "\"><title>");
    AppendEscapedMarkup(out, n.name);
    absl::StrAppend(&out, "\n", FormatFlameWeight(g.metric, n.total), " (", share, "%)");
    if (n.self > 0 && n.self != n.total) {
      absl::StrAppend(&out, ", self ", FormatFlameWeight(g.metric, n.self));
    }
    if (n.inlined) out += ", inlined";
    for (const FlameSite& site : n.sites) {  // one line each: the script reads them back
      out += "\n";
      AppendEscapedMarkup(out, site.label);
      absl::StrAppend(&out, ": ", FormatFlameWeight(g.metric, site.weight));
    }
    absl::StrAppend(&out, "</title><rect x=\"", Fixed(x), "\" y=\"", y, "\" width=\"",
                    Fixed(std::max(w - 0.5, 0.1)), "\" height=\"", fh - 1, "\" rx=\"2\" fill=\"",
                    FrameFill(n, i == 0), "\"/><text x=\"", Fixed(x + 3), "\" y=\"",
                    y + fh - 5, "\">");
    AppendEscapedMarkup(out, ClipName(n.name, w));
    out += "</text></g>\n";
    int64_t child_offset = offset;
    std::vector<std::pair<int, int64_t>> kids;
    for (int c : n.children) {
      kids.emplace_back(c, child_offset);
      child_offset += g.nodes[c].total;
    }
    todo.insert(todo.end(), kids.rbegin(), kids.rend());
  }
  absl::StrAppend(&out, "<script type=\"text/javascript\"><![CDATA[", AV(kScript), "]]></script>\n");
  out += "</svg>\n";
  return out;
}

}  // namespace atr
