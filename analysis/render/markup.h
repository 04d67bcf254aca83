// EscapeMarkup: the one escaping function for everything atr writes into
// SVG and HTML (symbol names, file paths, argv). Its output is safe as XML
// 1.0 and HTML text and inside single- or double-quoted attribute values:
//
//   out += "<text>" + EscapeMarkup(frame.function) + "</text>";
//
// & < > " ' become entities; bytes that XML 1.0 forbids even escaped
// (control characters other than tab, newline and carriage return) and
// invalid UTF-8 become U+FFFD, so a symbol name can never make a file
// ill-formed.
#ifndef ATR_ANALYSIS_RENDER_MARKUP_H_
#define ATR_ANALYSIS_RENDER_MARKUP_H_

#include <string>
#include <string_view>

namespace atr {

std::string EscapeMarkup(std::string_view s);
void AppendEscapedMarkup(std::string& out, std::string_view s);

}  // namespace atr

#endif  // ATR_ANALYSIS_RENDER_MARKUP_H_
