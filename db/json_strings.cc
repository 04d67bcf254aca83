#include "db/json_strings.h"

#include <cstdio>

#include "absl/status/status.h"

namespace atr::db_internal {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

std::string EncodeJsonStrings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t v = 0; v < values.size(); ++v) {
    if (v > 0) out += ',';
    out += '"';
    const std::string& s = values[v];
    for (size_t i = 0; i < s.size();) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
        ++i;
      } else if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
        ++i;
      } else if (size_t n = Utf8Length(s, i); n > 0) {
        out.append(s, i, n);
        i += n;
      } else {
        // A stray byte: keep it recoverable as U+00XX (Latin-1 style).
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
        ++i;
      }
    }
    out += '"';
  }
  out += ']';
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeJsonStrings(std::string_view j) {
  auto bad = [] { return absl::DataLossError("malformed JSON string array"); };
  std::vector<std::string> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < j.size() && (j[i] == ' ' || j[i] == '\n' || j[i] == '\t' || j[i] == '\r')) ++i;
  };
  skip_ws();
  if (i >= j.size() || j[i] != '[') return bad();
  ++i;
  skip_ws();
  if (i < j.size() && j[i] == ']') return out;
  while (true) {
    skip_ws();
    if (i >= j.size() || j[i] != '"') return bad();
    ++i;
    std::string s;
    while (true) {
      if (i >= j.size()) return bad();
      char c = j[i++];
      if (c == '"') break;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (i >= j.size()) return bad();
      char e = j[i++];
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          if (i + 4 > j.size()) return bad();
          uint32_t cp = 0;
          for (int k = 0; k < 4; ++k) {
            char h = j[i++];
            cp <<= 4;
            if (h >= '0' && h <= '9') cp |= h - '0';
            else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
            else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
            else return bad();
          }
          // U+0000..U+00FF came from single bytes (see EncodeJsonStrings).
          if (cp < 0x100) s += static_cast<char>(cp); else AppendUtf8(cp, &s);
          break;
        }
        default:
          return bad();
      }
    }
    out.push_back(std::move(s));
    skip_ws();
    if (i < j.size() && j[i] == ',') {
      ++i;
      continue;
    }
    if (i < j.size() && j[i] == ']') return out;
    return bad();
  }
}

}  // namespace atr::db_internal
