// SiteMatcher: which scanned source site a recorded frame line is.
//
// A recorded stack line (a frames row, or one of its inline_frames) has the
// file, line, column and function of a call. It matches a heap site when
//   - the files agree: the same path, or failing that (a trace recorded on
//     another machine, a build dir moved) the most trailing path components
//     in common, the file name at least;
//   - the line falls inside the site's expression ([line, end_line]);
// and among several such sites (two allocations on one line, one template
// line in many instantiations) the one that starts on that line, at or just
// before the call's column, in the function of that name wins; with no
// function match, a template's pattern site is preferred over a guess among
// its instantiations. A line inside a function that has a kStackFrame site
// matches that site through MatchFunction.
//
//   SiteMatcher m(std::move(sites));
//   const SourceSite* s = m.MatchHeap({.file = "/src/server.cc", .line = 212,
//                                      .function = "srv::accept_loop()"});
//
// Thread-compatible: const methods may run concurrently.
#ifndef ATR_ANALYSIS_SITES_SITE_MATCHER_H_
#define ATR_ANALYSIS_SITES_SITE_MATCHER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "analysis/sites/source_site.h"

namespace atr {

// One line of a recorded stack, as the symbolizer gave it.
struct FrameLine {
  std::string_view file;      // "" = unknown
  int32_t line = 0;           // 0 = unknown
  int32_t column = 0;         // 0 = unknown
  std::string_view function;  // demangled, with parameters; "" = unknown
};

class SiteMatcher {
 public:
  SiteMatcher() = default;
  explicit SiteMatcher(std::vector<SourceSite> sites);

  // The heap site (IsHeapSiteKind) this line is, or nullptr.
  const SourceSite* MatchHeap(const FrameLine& l) const;
  // The kStackFrame site of the function this line is in, or nullptr.
  const SourceSite* MatchFunction(const FrameLine& l) const;

  const std::vector<SourceSite>& sites() const { return sites_; }
  bool empty() const { return sites_.empty(); }

 private:
  std::vector<SourceSite> sites_;
  // "basename\0line" -> heap sites whose expression covers that line.
  absl::flat_hash_map<std::string, std::vector<int>> by_line_;
  // basename -> kStackFrame sites.
  absl::flat_hash_map<std::string, std::vector<int>> frames_by_file_;
};

// How many trailing path components two paths share (0 = different file
// names). Exposed for tests.
int CommonPathSuffix(std::string_view a, std::string_view b);
// A function name reduced for comparison: no return type, parameters,
// "(anonymous namespace)::", spaces. "Foo* (anonymous namespace)::make<Foo>(int)"
// -> "make<Foo>". Exposed for tests.
std::string NormalizeFunctionName(std::string_view name);

}  // namespace atr

#endif  // ATR_ANALYSIS_SITES_SITE_MATCHER_H_
