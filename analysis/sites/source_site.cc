#include "analysis/sites/source_site.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"

namespace atr {
namespace {

constexpr std::array<std::pair<SiteKind, std::string_view>, 15> kKindNames = {{
    {SiteKind::kNew, "new"},
    {SiteKind::kNewArray, "new[]"},
    {SiteKind::kMalloc, "malloc"},
    {SiteKind::kCalloc, "calloc"},
    {SiteKind::kRealloc, "realloc"},
    {SiteKind::kAlignedAlloc, "aligned_alloc"},
    {SiteKind::kPosixMemalign, "posix_memalign"},
    {SiteKind::kMakeUnique, "make_unique"},
    {SiteKind::kMakeShared, "make_shared"},
    {SiteKind::kAllocateShared, "allocate_shared"},
    {SiteKind::kContainerGrowth, "container"},
    {SiteKind::kStackArray, "stack_array"},
    {SiteKind::kVla, "vla"},
    {SiteKind::kAlloca, "alloca"},
    {SiteKind::kStackFrame, "stack_frame"},
}};

// "184 B" up to 10 KiB (type sizes read best exact), then "12.5 KiB".
std::string Bytes(int64_t n) {
  if (n < 10 * 1024) return absl::StrCat(n, " B");
  const char* units[] = {"KiB", "MiB", "GiB"};
  double v = static_cast<double>(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 2) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

// The verb of a description: the callee for the malloc family ("strdup"),
// the method for containers ("push_back").
std::string Verb(const SourceSite& s) {
  switch (s.kind) {
    case SiteKind::kMalloc:
      return s.detail.empty() ? "malloc" : s.detail;
    case SiteKind::kContainerGrowth: {
      size_t colon = s.detail.rfind("::");
      return colon == std::string::npos ? s.detail : s.detail.substr(colon + 2);
    }
    case SiteKind::kNewArray:
      return "new";
    default:
      return std::string(SiteKindName(s.kind));
  }
}

}  // namespace

std::string_view SiteKindName(SiteKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<SiteKind> SiteKindFromName(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view SiteTemplateName(SiteTemplate t) {
  switch (t) {
    case SiteTemplate::kNone: return "";
    case SiteTemplate::kPattern: return "pattern";
    case SiteTemplate::kInstantiation: return "instantiation";
  }
  return "";
}

SiteTemplate SiteTemplateFromName(std::string_view name) {
  if (name == "pattern") return SiteTemplate::kPattern;
  if (name == "instantiation") return SiteTemplate::kInstantiation;
  return SiteTemplate::kNone;
}

bool IsHeapSiteKind(SiteKind kind) {
  switch (kind) {
    case SiteKind::kStackArray:
    case SiteKind::kVla:
    case SiteKind::kAlloca:
    case SiteKind::kStackFrame:
      return false;
    default:
      return true;
  }
}

std::string SiteDescription(const SourceSite& s) {
  switch (s.kind) {
    case SiteKind::kStackFrame:
      return s.type_size ? absl::StrCat("stack frame (~", Bytes(*s.type_size), ")") : "stack frame";
    case SiteKind::kStackArray:
      return absl::StrCat(s.type, " on the stack", s.bytes ? absl::StrCat(" (", Bytes(*s.bytes), ")") : "");
    case SiteKind::kVla:
      return absl::StrCat("VLA ", s.type);
    case SiteKind::kAlloca:
      return absl::StrCat("alloca", s.type.empty() ? "" : " " + s.type,
                          s.bytes ? absl::StrCat(" (", Bytes(*s.bytes), ")") : "");
    default:
      break;
  }
  std::string out = Verb(s);
  if (s.kind == SiteKind::kNewArray) {
    absl::StrAppend(&out, " ", s.type, "[]");
    if (s.type_size) absl::StrAppend(&out, " (", Bytes(*s.type_size), " each)");
    return out;
  }
  if (!s.type.empty()) {
    absl::StrAppend(&out, " ", s.type);
    // "realloc char (300 B)": for a byte buffer the request says more than sizeof(char).
    if (s.type_size && *s.type_size > 1) {
      absl::StrAppend(&out, " (", Bytes(*s.type_size), ")");
    } else if (s.bytes) {
      absl::StrAppend(&out, " (", Bytes(*s.bytes), ")");
    }
  } else if (s.bytes) {
    absl::StrAppend(&out, " (", Bytes(*s.bytes), ")");
  }
  return out;
}

}  // namespace atr
