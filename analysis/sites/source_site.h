// SourceSite: one place in the source that allocates (heap or stack), as
// the libTooling scanner (site_scanner.h) finds it and the `sites` table
// (site_store.h, docs/trace-format.md "sites") stores it. Plain data, no
// clang types, so reports can use it without linking libclang-cpp.
//
//   SourceSite s{.file = "/src/server.cc", .line = 212, .kind = SiteKind::kNew,
//                .type = "Session", .type_size = 184};
//   SiteDescription(s);  // "new Session (184 B)"
#ifndef ATR_ANALYSIS_SITES_SOURCE_SITE_H_
#define ATR_ANALYSIS_SITES_SOURCE_SITE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atr {

// What the source does at a site. The names (SiteKindName) are the `kind`
// column of the sites table; append only.
enum class SiteKind {
  kNew,              // new T            (type = T)
  kNewArray,         // new T[n]         (type = T, element)
  kMalloc,           // malloc, also valloc/memalign/reallocarray/strdup (detail = callee)
  kCalloc,           // calloc
  kRealloc,          // realloc
  kAlignedAlloc,     // aligned_alloc
  kPosixMemalign,    // posix_memalign
  kMakeUnique,       // std::make_unique<T> (and _for_overwrite)
  kMakeShared,       // std::make_shared<T> (and _for_overwrite)
  kAllocateShared,   // std::allocate_shared<T>
  kContainerGrowth,  // push_back, emplace, insert, resize, reserve, map operator[], string append
                     // (type = element type, detail = "std::vector<Item>::push_back")
  kStackArray,       // a local array of at least ScanOptions::large_array_bytes
  kVla,              // a variable-length local array
  kAlloca,           // alloca / __builtin_alloca
  kStackFrame,       // a function with one of the three above; type_size = static frame estimate
};

// Whether the site is in template code (see docs/sites.md, "Templates").
enum class SiteTemplate {
  kNone,           // ordinary code
  kPattern,        // the template as written; type may be dependent ("T", size unknown)
  kInstantiation,  // one instantiation; function has its template arguments
};

struct SourceSite {
  int64_t id = 0;                   // sites.id once stored; 0 before
  std::string file;                 // absolute, lexically normalized path
  int32_t line = 0;                 // where the expression (or declaration) starts, 1-based
  int32_t column = 0;               // 1-based
  int32_t end_line = 0;             // last line of the expression (>= line)
  std::string function;             // qualified enclosing function, "srv::Server::accept_loop"
  int32_t function_line = 0;        // the enclosing function's extent; a frame whose line
  int32_t function_end_line = 0;    //   falls inside is "in" the function
  SiteKind kind = SiteKind::kNew;
  std::string type;                 // allocated / element type as C++ spells it; "" = unknown
  std::optional<int64_t> type_size; // sizeof(type); for kStackFrame the frame estimate
  std::optional<int64_t> bytes;     // bytes requested when the compiler knows them
  bool in_loop = false;             // inside for / while / do / range-for of its function
  SiteTemplate templ = SiteTemplate::kNone;
  std::string detail;               // callee or container ("std::vector<Item>::push_back")

  friend bool operator==(const SourceSite&, const SourceSite&) = default;
};

std::string_view SiteKindName(SiteKind kind);           // "new", "new[]", "malloc", ...
std::optional<SiteKind> SiteKindFromName(std::string_view name);
std::string_view SiteTemplateName(SiteTemplate t);      // "", "pattern", "instantiation"
SiteTemplate SiteTemplateFromName(std::string_view name);
// Heap sites can match an allocation's stack; stack sites only frames.
bool IsHeapSiteKind(SiteKind kind);

// "new Session (184 B)", "new char[] (4 KiB request)", "push_back Item (24 B)",
// "malloc (200 B)", "alloca", "stack frame (~8 KiB)": what the site allocates.
std::string SiteDescription(const SourceSite& s);

}  // namespace atr

#endif  // ATR_ANALYSIS_SITES_SOURCE_SITE_H_
