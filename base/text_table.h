// TextTable: aligned columns for terminal output.
//
// Numbers are right-aligned, text left-aligned; the last column may be long
// (a symbol) and is never padded. Cells are plain strings: callers format
// numbers with number_format.h so every report spells units the same way.
//
//   TextTable t({"bytes", "calls", "site"}, {Align::kRight, Align::kRight, Align::kLeft});
//   t.AddRow({FormatBytes(4096), FormatCount(12), "keep_session"});
//   std::fputs(t.Render().c_str(), stdout);
#ifndef ATR_BASE_TEXT_TABLE_H_
#define ATR_BASE_TEXT_TABLE_H_

#include <cstddef>
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

}  // namespace atr

#endif  // ATR_BASE_TEXT_TABLE_H_
