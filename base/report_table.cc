#include "base/report_table.h"

#include <cstdio>

#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/text_table.h"

namespace atr {
namespace {

std::string ShowText(const Column& c, const Cell& cell) {
  if (std::holds_alternative<std::monostate>(cell.v)) return "-";
  if (const auto* s = std::get_if<std::string>(&cell.v)) return *s;
  if (const auto* d = std::get_if<double>(&cell.v)) {
    char buf[32];
    if (c.kind == Column::kPercent) {
      std::snprintf(buf, sizeof buf, "%.1f%%", *d * 100);
    } else {
      std::snprintf(buf, sizeof buf, "%.3g", *d);
    }
    return buf;
  }
  int64_t i = std::get<int64_t>(cell.v);
  switch (c.kind) {
    case Column::kBool: return i != 0 ? "yes" : "no";
    case Column::kBytes: return FormatBytes(i);
    case Column::kNanos: return FormatDuration(i);
    case Column::kCount: return FormatCount(i);
    default: return std::to_string(i);
  }
}

std::string ShowRaw(const Column& c, const Cell& cell) {
  if (std::holds_alternative<std::monostate>(cell.v)) return "";
  if (c.kind == Column::kBool && std::holds_alternative<int64_t>(cell.v)) {
    return std::get<int64_t>(cell.v) != 0 ? "true" : "false";
  }
  if (const auto* s = std::get_if<std::string>(&cell.v)) return *s;
  if (const auto* d = std::get_if<double>(&cell.v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  return std::to_string(std::get<int64_t>(cell.v));
}

std::string CsvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

void ReportTable::AddRow(std::vector<Cell> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string ReportTable::RenderText() const {
  std::vector<std::string> headers;
  std::vector<Align> aligns;
  for (const Column& c : columns_) {
    headers.push_back(c.name);
    aligns.push_back(c.kind == Column::kText ? Align::kLeft : Align::kRight);
  }
  TextTable t(headers, aligns);
  for (const auto& row : rows_) {
    std::vector<std::string> cells;
    for (size_t i = 0; i < columns_.size(); ++i) cells.push_back(ShowText(columns_[i], row[i]));
    t.AddRow(std::move(cells));
  }
  return t.Render();
}

std::string ReportTable::RenderCsv() const {
  std::string out;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) out += ',';
    out += CsvQuote(columns_[i].name);
  }
  out += '\n';
  for (const auto& row : rows_) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) out += ',';
      out += CsvQuote(ShowRaw(columns_[i], row[i]));
    }
    out += '\n';
  }
  return out;
}

void ReportTable::WriteRowMembers(JsonWriter& j, size_t row) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    j.Key(columns_[i].name);
    const Cell& c = rows_[row][i];
    if (std::holds_alternative<std::monostate>(c.v)) j.Null();
    else if (const auto* s = std::get_if<std::string>(&c.v)) j.String(*s);
    else if (const auto* d = std::get_if<double>(&c.v)) j.Double(*d);
    else if (columns_[i].kind == Column::kBool) j.Bool(std::get<int64_t>(c.v) != 0);
    else j.Int(std::get<int64_t>(c.v));
  }
}

void ReportTable::WriteJson(JsonWriter& j) const {
  j.BeginArray();
  for (size_t r = 0; r < rows_.size(); ++r) {
    j.BeginObject();
    WriteRowMembers(j, r);
    j.EndObject();
  }
  j.EndArray();
}

std::string ReportTable::RenderJson() const {
  JsonWriter j;
  WriteJson(j);
  return j.str() + "\n";
}

std::string ReportTable::Render(OutputFormat f) const {
  switch (f) {
    case OutputFormat::kJson: return RenderJson();
    case OutputFormat::kCsv: return RenderCsv();
    case OutputFormat::kText: break;
  }
  return RenderText();
}

}  // namespace atr
