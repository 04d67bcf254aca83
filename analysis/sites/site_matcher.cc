#include "analysis/sites/site_matcher.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace atr {
namespace {

// A site whose expression spans more lines than this (a lambda argument,
// a long initializer) is matched on its first lines only.
constexpr int32_t kMaxSpanLines = 16;

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string LineKey(std::string_view base, int32_t line) {
  std::string key(base);
  key += '\0';
  key += std::to_string(line);
  return key;
}

// The last "::" component, template arguments removed: "Pool<Foo>::get" -> "get".
std::string BaseName(std::string_view normalized) {
  std::string out;
  int depth = 0;
  for (char c : normalized) {
    if (c == '<') ++depth;
    else if (c == '>') --depth;
    else if (depth == 0) out += c;
  }
  size_t colon = out.rfind("::");
  return colon == std::string::npos ? out : out.substr(colon + 2);
}

}  // namespace

int CommonPathSuffix(std::string_view a, std::string_view b) {
  int common = 0;
  while (!a.empty() && !b.empty()) {
    size_t sa = a.rfind('/'), sb = b.rfind('/');
    std::string_view ca = sa == std::string_view::npos ? a : a.substr(sa + 1);
    std::string_view cb = sb == std::string_view::npos ? b : b.substr(sb + 1);
    if (ca != cb) break;
    ++common;
    if (sa == std::string_view::npos || sb == std::string_view::npos) break;
    a = a.substr(0, sa);
    b = b.substr(0, sb);
  }
  return common;
}

std::string NormalizeFunctionName(std::string_view name) {
  std::string s(name);
  for (size_t p; (p = s.find("(anonymous namespace)::")) != std::string::npos;) {
    s.erase(p, sizeof("(anonymous namespace)::") - 1);
  }
  // Cut at the parameter list: the first '(' outside <> and {}.
  int angle = 0, brace = 0;
  size_t end = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (angle == 0 && brace == 0 && s.compare(i, 8, "operator") == 0) {
      i += 8;
      if (s.compare(i, 2, "()") == 0) ++i;  // operator() -- its own parentheses
      else while (i + 1 < s.size() && s[i + 1] != '(') ++i;  // operator<<, operator new
      continue;
    }
    if (c == '<') ++angle;
    else if (c == '>' && angle > 0) --angle;
    else if (c == '{') ++brace;
    else if (c == '}' && brace > 0) --brace;
    else if (c == '(' && angle == 0 && brace == 0) {
      end = i;
      break;
    }
  }
  s.resize(end);
  // Drop a return type: the part before the last space outside <>.
  angle = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') ++angle;
    else if (s[i] == '>' && angle > 0) --angle;
    else if (s[i] == ' ' && angle == 0 && (i < 8 || s.compare(i - 8, 8, "operator") != 0)) {
      start = i + 1;
    }
  }
  s = s.substr(start);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  // Lambdas: the demangler's "f::{lambda()#1}::operator()", clang's "f::{lambda}".
  if (size_t l = s.find("{lambda"); l != std::string::npos) s = s.substr(0, l) + "{lambda}";
  return s;
}

SiteMatcher::SiteMatcher(std::vector<SourceSite> sites) : sites_(std::move(sites)) {
  for (size_t i = 0; i < sites_.size(); ++i) {
    const SourceSite& s = sites_[i];
    std::string_view base = Basename(s.file);
    if (s.kind == SiteKind::kStackFrame) {
      frames_by_file_[std::string(base)].push_back(static_cast<int>(i));
      continue;
    }
    if (!IsHeapSiteKind(s.kind)) continue;
    int32_t last = std::min(std::max(s.end_line, s.line), s.line + kMaxSpanLines);
    for (int32_t line = s.line; line <= last; ++line) {
      by_line_[LineKey(base, line)].push_back(static_cast<int>(i));
    }
  }
}

const SourceSite* SiteMatcher::MatchHeap(const FrameLine& l) const {
  if (l.file.empty() || l.line <= 0) return nullptr;
  auto it = by_line_.find(LineKey(Basename(l.file), l.line));
  if (it == by_line_.end()) return nullptr;
  std::string fn = l.function.empty() ? std::string() : NormalizeFunctionName(l.function);
  std::string fn_base = fn.empty() ? std::string() : BaseName(fn);
  const SourceSite* best = nullptr;
  std::tuple<int, int, int, int, int, int> best_score{};
  for (int i : it->second) {
    const SourceSite& s = sites_[i];
    int path = CommonPathSuffix(l.file, s.file);
    if (path == 0) continue;
    int starts_here = s.line == l.line ? 1 : 0;
    // On the start line: the site at or just before the call's column; a
    // site that starts after the call's column is a worse guess.
    int column = 0;
    if (starts_here && l.column > 0) column = s.column <= l.column ? s.column : -s.column;
    int function = 0;
    if (!fn.empty() && !s.function.empty()) {
      std::string site_fn = NormalizeFunctionName(s.function);
      function = site_fn == fn ? 2 : BaseName(site_fn) == fn_base ? 1 : 0;
    }
    int generic = function == 0 && s.templ != SiteTemplate::kInstantiation ? 1 : 0;
    int narrow = -(s.end_line - s.line);
    std::tuple<int, int, int, int, int, int> score{path, starts_here, column, function, generic, narrow};
    if (best == nullptr || score > best_score) {
      best = &s;
      best_score = score;
    }
  }
  return best;
}

const SourceSite* SiteMatcher::MatchFunction(const FrameLine& l) const {
  if (l.file.empty() || l.line <= 0) return nullptr;
  auto it = frames_by_file_.find(std::string(Basename(l.file)));
  if (it == frames_by_file_.end()) return nullptr;
  const SourceSite* best = nullptr;
  int best_path = 0;
  for (int i : it->second) {
    const SourceSite& s = sites_[i];
    if (l.line < s.function_line || l.line > s.function_end_line) continue;
    int path = CommonPathSuffix(l.file, s.file);
    // Nested functions (a lambda's frame site inside its function): the
    // innermost extent wins on a tie.
    if (path > best_path ||
        (path == best_path && best != nullptr &&
         s.function_end_line - s.function_line < best->function_end_line - best->function_line)) {
      best = &s;
      best_path = path;
    }
  }
  return best;
}

}  // namespace atr
