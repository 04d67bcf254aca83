// CheckWellFormedXml: a tiny checker for the tests of generated SVG: tags
// balanced and properly nested, attributes quoted, every '&' a valid
// entity, no '<' in attribute values, comments / CDATA / processing
// instructions closed. Not a full XML parser (no DTDs, no namespaces).
#ifndef ATR_ANALYSIS_RENDER_XML_CHECK_H_
#define ATR_ANALYSIS_RENDER_XML_CHECK_H_

#include <cctype>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace atr::testing {

// Returns "" when well-formed, else what is wrong and where. Counts the
// elements by name into *elements when given.
inline std::string CheckWellFormedXml(std::string_view s,
                                      std::map<std::string, int>* elements = nullptr) {
  std::vector<std::string> open;
  auto err = [&](size_t at, std::string what) {
    return what + " at offset " + std::to_string(at) + ": " +
           std::string(s.substr(at > 20 ? at - 20 : 0, 60));
  };
  auto entity_ok = [&](size_t at, size_t* len) {
    size_t semi = s.find(';', at);
    if (semi == std::string_view::npos || semi - at > 10) return false;
    std::string_view e = s.substr(at + 1, semi - at - 1);
    *len = semi - at + 1;
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    if (e.size() >= 2 && e[0] == '#') {
      bool hex = e[1] == 'x';
      std::string_view digits = e.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      for (char c : digits) {
        if (hex ? !std::isxdigit(static_cast<unsigned char>(c)) : !std::isdigit(static_cast<unsigned char>(c))) return false;
      }
      return true;
    }
    return false;
  };
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '-' || c == '.';
  };
  bool root_seen = false;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      size_t len = 0;
      if (!entity_ok(i, &len)) return err(i, "bad entity");
      i += len;
      continue;
    }
    if (s[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(s[i]))) return err(i, "text outside the root");
      ++i;
      continue;
    }
    for (auto [start, end] : {std::pair<std::string_view, std::string_view>{"<?", "?>"},
                              {"<!--", "-->"}, {"<![CDATA[", "]]>"}}) {
      if (s.substr(i, start.size()) == start) {
        size_t e = s.find(end, i + start.size());
        if (e == std::string_view::npos) return err(i, "unclosed " + std::string(start));
        i = e + end.size();
        goto next;
      }
    }
    if (s.substr(i, 2) == "</") {
      size_t e = s.find('>', i);
      if (e == std::string_view::npos) return err(i, "unclosed end tag");
      std::string name(s.substr(i + 2, e - i - 2));
      while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
      if (open.empty() || open.back() != name) {
        return err(i, "end tag </" + name + "> does not match <" + (open.empty() ? "" : open.back()) + ">");
      }
      open.pop_back();
      i = e + 1;
      continue;
    }
    {
      size_t j = i + 1;
      while (j < s.size() && is_name(s[j])) ++j;
      if (j == i + 1) return err(i, "bad tag name");
      std::string name(s.substr(i + 1, j - i - 1));
      if (open.empty() && root_seen) return err(i, "second root element");
      root_seen = true;
      if (elements) ++(*elements)[name];
      std::map<std::string, bool> attrs;
      for (;;) {
        while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        if (j >= s.size()) return err(i, "unclosed tag");
        if (s.substr(j, 2) == "/>") { j += 2; break; }
        if (s[j] == '>') { open.push_back(name); ++j; break; }
        size_t a = j;
        while (j < s.size() && is_name(s[j])) ++j;
        if (j == a) return err(j, "bad attribute name");
        std::string attr(s.substr(a, j - a));
        if (attrs.count(attr)) return err(a, "duplicate attribute " + attr);
        attrs[attr] = true;
        if (j >= s.size() || s[j] != '=') return err(j, "attribute without value");
        ++j;
        if (j >= s.size() || (s[j] != '"' && s[j] != '\'')) return err(j, "unquoted attribute");
        char q = s[j++];
        size_t e = s.find(q, j);
        if (e == std::string_view::npos) return err(j, "unclosed attribute value");
        for (size_t k = j; k < e; ++k) {
          if (s[k] == '<') return err(k, "'<' in attribute value");
          if (s[k] == '&') {
            size_t len = 0;
            if (!entity_ok(k, &len)) return err(k, "bad entity in attribute");
          }
        }
        j = e + 1;
      }
      i = j;
    }
  next:;
  }
  if (!open.empty()) return "unclosed element <" + open.back() + ">";
  if (!root_seen) return "no root element";
  return "";
}

}  // namespace atr::testing

#endif  // ATR_ANALYSIS_RENDER_XML_CHECK_H_
