#include "analysis/render/html_parts.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "analysis/render/markup.h"
#include "base/json_writer.h"

namespace atr::html {
namespace {

// JSON inside <script>: no '<', '>' or '&' can end the element or start markup.
std::string ScriptSafeJson(const std::string& json) {
  return absl::StrReplaceAll(json, {{"<", "\\u003c"}, {">", "\\u003e"}, {"&", "\\u0026"}});
}

}  // namespace

std::string Esc(std::string_view s) { return EscapeMarkup(s); }

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * share);
  return buf;
}

void AppendCard(std::string& out, std::string_view value, std::string_view key) {
  absl::StrAppend(&out, "<div class=\"card\"><div class=\"v\">", Esc(value),
                  "</div><div class=\"k\">", Esc(key), "</div></div>\n");
}

void AppendRow(std::string& out, const std::vector<std::string>& cells,
               const std::vector<bool>& numeric, std::string_view tag) {
  out += "<tr>";
  for (size_t i = 0; i < cells.size(); ++i) {
    const bool n = i < numeric.size() && numeric[i];
    absl::StrAppend(&out, "<", AV(tag), n ? " class=\"n\"" : "", ">", Esc(cells[i]), "</",
                    AV(tag), ">");
  }
  out += "</tr>\n";
}

void AppendStackDetails(std::string_view label, const StackView& v, std::string& out) {
  absl::StrAppend(&out, "<details><summary>", Esc(label.empty() ? "(no stack)" : label),
                  "</summary><div class=\"stack\">", Esc(RenderStackText(v, "")),
                  "</div></details>");
}

void AppendChart(std::string_view id, const Timeline& t, const ChartStyle& style,
                 std::string& out) {
  JsonWriter j;
  j.BeginObject();
  j.Key("x_is_seq").Bool(t.x_is_seq);
  j.Key("peak_name").String(style.peak_name);
  j.Key("fill_first").Bool(style.fill_first);
  j.Key("zoom_to_data").Bool(style.zoom_to_data);
  j.Key("peak_x").Int(t.peak_x);
  j.Key("peak_bytes").Int(t.peak_bytes);
  j.Key("series").BeginArray();
  for (const TimelineSeries& s : t.series) {
    j.BeginObject();
    j.Key("name").String(s.name);
    j.Key("color").String(s.color);
    j.Key("points").BeginArray();
    for (const auto& [x, y] : s.points) j.BeginArray().Int(x).Int(y).EndArray();
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  absl::StrAppend(&out, "<div class=\"chart-box\" id=\"", Esc(id), "\" data-chart=\"", Esc(id),
                  "-data\"></div>\n<script type=\"application/json\" id=\"", Esc(id), "-data\">",
                  ScriptSafeJson(j.str()), "</script>\n");
}

}  // namespace atr::html
