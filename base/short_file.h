// ShortFile: how every report names a source file.
//
// The file's last two path components ("/src/server/main.cc" ->
// "server/main.cc"): narrow, but telling apart same-named files of two
// folders.
#ifndef ATR_BASE_SHORT_FILE_H_
#define ATR_BASE_SHORT_FILE_H_

#include <string>

namespace atr {

inline std::string ShortFile(const std::string& file) {
  size_t last = file.rfind('/');
  if (last == std::string::npos || last == 0) return file;
  size_t prev = file.rfind('/', last - 1);
  return prev == std::string::npos ? file : file.substr(prev + 1);
}

}  // namespace atr

#endif  // ATR_BASE_SHORT_FILE_H_
