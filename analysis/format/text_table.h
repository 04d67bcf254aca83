// TextTable: aligned columns for terminal output.
//
// Numbers are right-aligned, text left-aligned; the last column may be long
// (a symbol) and is never padded. Cells are plain strings: callers format
// numbers with the helpers below so every report spells units the same way.
//
//   TextTable t({"bytes", "calls", "site"}, {Align::kRight, Align::kRight, Align::kLeft});
//   t.AddRow({FormatBytes(4096), FormatCount(12), "keep_session"});
//   std::fputs(t.Render().c_str(), stdout);
#ifndef ATR_ANALYSIS_FORMAT_TEXT_TABLE_H_
#define ATR_ANALYSIS_FORMAT_TEXT_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace atr {

enum class Align { kLeft, kRight };

class TextTable {
 public:
  TextTable(std::vector<std::string> headers, std::vector<Align> aligns);
  void AddRow(std::vector<std::string> cells);
  std::string Render() const;
  size_t rows() const { return rows_.size(); }

 private:
  std::vector<std::string> headers_;
  std::vector<Align> aligns_;
  std::vector<std::vector<std::string>> rows_;
};

// 1536 -> "1.50 KiB"; below 1 KiB exact bytes ("512 B").
std::string FormatBytes(int64_t bytes);
// 1234567 -> "1,234,567"
std::string FormatCount(int64_t n);
// nanoseconds -> "1.234 s", "12.3 ms", "45 us"
std::string FormatDuration(int64_t ns);

}  // namespace atr

#endif  // ATR_ANALYSIS_FORMAT_TEXT_TABLE_H_
