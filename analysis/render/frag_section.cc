// The report's "Fragmentation causes" section: the `atr frag` report
// (frag_report.h) as tables, culprit first.
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "analysis/render/html_parts.h"
#include "base/number_format.h"

namespace atr::html {
namespace {

std::string Decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string Bytes(double v) { return FormatBytes(static_cast<int64_t>(std::llround(v))); }

void AppendBreakdown(const FragReport& f, std::string& out) {
  const FragBreakdown& b = f.peak;
  absl::StrAppend(&out, "<p>At the peak of modelled resident memory (built-in replay ",
                  f.replay_id, ", seq ", b.seq, "): ", Esc(FormatBytes(b.resident)),
                  " resident for ", Esc(FormatBytes(b.live)), " live, <b>",
                  Percent(b.fragmentation), " fragmentation</b>.</p>\n<table>\n");
  const std::vector<bool> num = {false, true, true};
  AppendRow(out, {"", "bytes", "of resident"}, num, "th");
  auto row = [&](const char* what, int64_t v, bool share) {
    AppendRow(out, {what, FormatBytes(v), share && b.resident ? Percent(1.0 * v / b.resident) : ""},
              num);
  };
  row("live (requested)", b.live, true);
  row("internal waste (class rounding)", b.internal_waste, true);
  row("free slots in partly used spans", b.free_slots, true);
  row("cached in thread caches", b.cached, true);
  row("free pages retained", b.retained, true);
  row("released to the OS (not resident)", b.released, false);
  out += "</table>\n";
}

void AppendPinning(const FragReport& f, std::string& out) {
  absl::StrAppend(&out, "<h3>Pinning sites</h3>\n<p>Whose live objects keep partly used spans "
                        "from being released: each span's free bytes shared equally among its "
                        "live objects (", Esc(Bytes(f.attributed_bytes)),
                  " of free slots attributed).</p>\n");
  if (f.pinning.empty()) {
    out += "<p class=\"note\">No partly used spans at the peak: nothing is pinned.</p>\n";
    return;
  }
  const PinningSite& culprit = f.pinning.front();
  absl::StrAppend(&out, "<p class=\"culprit\">Culprit: <code>", Esc(culprit.site), "</code> pins ",
                  Esc(Bytes(culprit.pinned_bytes)),
                  f.attributed_bytes > 0 ? absl::StrCat(" (", Percent(culprit.pinned_bytes /
                                                                      f.attributed_bytes),
                                                        ")")
                                         : std::string(),
                  ".</p>\n<table id=\"pinning\">\n");
  AppendRow(out, {"#", "pinned", "spans", "live objects", "median age (events)", "never freed",
                  "allocation site (click for the stack)"},
            {true, true, true, true, true, true, false}, "th");
  for (size_t i = 0; i < f.pinning.size(); ++i) {
    const PinningSite& p = f.pinning[i];
    absl::StrAppend(&out, "<tr><td class=\"n\">", i + 1, "</td><td class=\"n\">",
                    Esc(Bytes(p.pinned_bytes)), "</td><td class=\"n\">", Esc(FormatCount(p.spans)),
                    "</td><td class=\"n\">", Esc(FormatCount(p.live_objects)),
                    "</td><td class=\"n\">", Esc(FormatCount(std::llround(p.median_age_events))),
                    "</td><td class=\"n\">", Percent(p.never_freed_share), "</td><td class=\"site\">");
    AppendStackDetails(p.site, p.stack, out);
    out += "</td></tr>\n";
  }
  out += "</table>\n";
}

void AppendWaste(const FragReport& f, std::string& out) {
  if (f.waste.empty()) return;
  out += "<h3>Size classes with the most internal waste</h3>\n<table id=\"waste\">\n";
  const std::vector<bool> num = {true, true, true, false};
  AppendRow(out, {"class", "objects", "waste", "fed mostly by"}, num, "th");
  for (const WasteClass& c : f.waste) {
    AppendRow(out, {FormatBytes(c.class_size), FormatCount(c.objects), FormatBytes(c.waste_bytes),
                    c.top_site},
              num);
  }
  out += "</table>\n";
}

void AppendSurvivors(const FragReport& f, std::string& out) {
  if (f.survivors.empty()) return;
  absl::StrAppend(&out, "<h3>Peak survivors</h3>\n<p>Allocated in the ",
                  FormatCount(f.survivor_window),
                  " events before the peak and still live after it: long-lived objects "
                  "allocated among short-lived ones.</p>\n<table id=\"survivors\">\n");
  const std::vector<bool> num = {true, true, false};
  AppendRow(out, {"objects", "bytes", "site"}, num, "th");
  for (const SurvivorSite& s : f.survivors) {
    AppendRow(out, {FormatCount(s.objects), FormatBytes(s.bytes), s.site}, num);
  }
  out += "</table>\n";
}

void AppendMixing(const FragReport& f, std::string& out) {
  if (f.mixing.empty()) return;
  out += "<h3>Lifetime mixing in partly used spans</h3>\n<p>Per object size: decades between "
         "the longest and the shortest eventual lifetime of span-mates, averaged over spans. "
         "High values: long- and short-lived objects share spans.</p>\n<table id=\"mixing\">\n";
  const std::vector<bool> num = {true, true, true};
  AppendRow(out, {"object size", "spans", "mixing (decades)"}, num, "th");
  for (const MixingClass& m : f.mixing) {
    AppendRow(out, {FormatBytes(m.class_size), FormatCount(m.spans), Decimal(m.mixing_decades)},
              num);
  }
  out += "</table>\n";
}

}  // namespace

void AppendFragmentation(const std::optional<FragReport>& f, std::string& out) {
  out += "<section id=\"fragmentation\"><h2>Fragmentation causes</h2>\n";
  if (!f) {
    out += "<p class=\"note\">No built-in replay with a span snapshot in this trace: run "
           "<code>atr replay</code> (or <code>atr frag</code>) for fragmentation causes.</p>\n"
           "</section>\n";
    return;
  }
  AppendBreakdown(*f, out);
  AppendPinning(*f, out);
  AppendWaste(*f, out);
  AppendSurvivors(*f, out);
  AppendMixing(*f, out);
  out += "</section>\n";
}

}  // namespace atr::html
