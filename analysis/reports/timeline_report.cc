#include "analysis/reports/timeline_report.h"

#include <cctype>
#include <string>

#include "analysis/model/timeline.h"
#include "base/status_macros.h"

namespace atr {
namespace {

// Stable column names whatever the chart calls its series: the first is
// live bytes; replay series are the model's or a real allocator's resident.
std::string ColumnName(size_t index, const std::string& series) {
  if (index == 0) return "live_bytes";
  std::string lower;
  for (char c : series) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("modelled") != std::string::npos ? "modelled_resident_bytes"
                                                      : "real_resident_bytes";
}

}  // namespace

absl::StatusOr<ReportTable> ComputeTimelineTable(TraceReader& reader, int points) {
  ATR_ASSIGN_OR_RETURN(Timeline t, ComputeTimeline(reader, points));
  std::vector<Column> cols = {
      {t.x_is_seq ? "seq" : "time_ns", t.x_is_seq ? Column::kId : Column::kNanos}};
  for (size_t i = 0; i < t.series.size(); ++i) {
    cols.push_back({ColumnName(i, t.series[i].name), Column::kBytes});
  }
  ReportTable table(cols);
  if (t.series.empty()) return table;
  std::vector<size_t> cursor(t.series.size(), 0);
  for (const auto& [x, live] : t.series[0].points) {
    std::vector<Cell> row = {Cell::Int(x), Cell::Int(live)};
    for (size_t i = 1; i < t.series.size(); ++i) {
      const auto& pts = t.series[i].points;
      while (cursor[i] < pts.size() && pts[cursor[i]].first <= x) ++cursor[i];
      row.push_back(cursor[i] == 0 ? Cell::Null() : Cell::Int(pts[cursor[i] - 1].second));
    }
    table.AddRow(std::move(row));
  }
  return table;
}

}  // namespace atr
