// ReportTable: one tabular result, rendered three ways with the same column
// names — aligned text for a terminal, JSON (an array of objects, one per
// row, keyed by column name) and CSV (RFC 4180 quoting). Reports build one
// table and let the CLI's --json / --csv choose the rendering, so every
// report gets all three with one code path.
//
//   ReportTable t({{"site", Column::kText}, {"bytes", Column::kBytes}});
//   t.AddRow({Cell::Text("load_config"), Cell::Int(4096)});
//   puts(t.RenderText().c_str());   // "site         bytes\nload_config  4.00 KiB"
//   puts(t.RenderCsv().c_str());    // "site,bytes\nload_config,4096"
#ifndef ATR_BASE_REPORT_TABLE_H_
#define ATR_BASE_REPORT_TABLE_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace atr {

class JsonWriter;

struct Column {
  // How a value is shown as text; JSON and CSV always carry raw values.
  // kBool: an Int cell, 0 or not; "yes"/"no" as text, true/false in JSON
  // and CSV.
  enum Kind { kText, kCount, kBytes, kNanos, kPercent, kReal, kId, kBool };
  std::string name;  // also the JSON key and CSV header: lower_snake_case
  Kind kind = kText;
};

struct Cell {
  std::variant<std::monostate, int64_t, double, std::string> v;  // monostate = null
  static Cell Int(int64_t i) { return {i}; }
  static Cell Real(double d) { return {d}; }
  static Cell Text(std::string s) { return {std::move(s)}; }
  static Cell Bool(bool b) { return {int64_t{b ? 1 : 0}}; }
  static Cell Null() { return {}; }
};

enum class OutputFormat { kText, kJson, kCsv };

class ReportTable {
 public:
  explicit ReportTable(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void AddRow(std::vector<Cell> cells);
  size_t rows() const { return rows_.size(); }
  const std::vector<Column>& columns() const { return columns_; }

  std::string RenderText() const;
  std::string RenderCsv() const;
  // Writes the rows as a JSON array into `j` (for reports that embed the
  // table in a larger document).
  void WriteJson(JsonWriter& j) const;
  std::string RenderJson() const;  // the array alone, newline-terminated
  // Writes row `row`'s cells as "column": value members of the object open
  // in `j` (a one-row table that is a report's summary).
  void WriteRowMembers(JsonWriter& j, size_t row) const;
  std::string Render(OutputFormat f) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace atr

#endif  // ATR_BASE_REPORT_TABLE_H_
