#include "analysis/stacks/site_label.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "analysis/format/json_writer.h"
#include "analysis/sites/site_store.h"

namespace atr {
namespace {

// "srv::Server::accept_loop" -> "accept_loop()"; "run::{lambda}" ->
// "run::{lambda}()"; template arguments are kept ("make_one<Foo>()").
std::string ShortFunction(std::string_view f) {
  int depth = 0;
  size_t last = std::string_view::npos, prev = std::string_view::npos;
  for (size_t i = 0; i + 1 < f.size(); ++i) {
    if (f[i] == '<') ++depth;
    else if (f[i] == '>' && depth > 0) --depth;
    else if (depth == 0 && f[i] == ':' && f[i + 1] == ':') {
      prev = last;
      last = i;
      ++i;
    }
  }
  std::string_view tail = last == std::string_view::npos ? f : f.substr(last + 2);
  if (tail == "{lambda}" && last != std::string_view::npos) {
    tail = prev == std::string_view::npos ? f : f.substr(prev + 2);
  }
  return std::string(tail) + "()";
}

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string SiteLabelText(const SourceSite& s) {
  std::string out = absl::StrCat(SiteDescription(s), " at ", std::string(Basename(s.file)), ":", s.line);
  if (!s.function.empty()) absl::StrAppend(&out, " in ", ShortFunction(s.function));
  return out;
}

SiteLabels::SiteLabels(TraceReader* reader, std::unique_ptr<SiteMatcher> matcher)
    : reader_(reader), matcher_(std::move(matcher)) {}
SiteLabels::SiteLabels(SiteLabels&&) noexcept = default;
SiteLabels& SiteLabels::operator=(SiteLabels&&) noexcept = default;
SiteLabels::~SiteLabels() = default;

absl::StatusOr<SiteLabels> SiteLabels::Load(TraceReader& reader) {
  absl::StatusOr<std::vector<SourceSite>> sites = ReadSites(reader);
  if (!sites.ok()) return sites.status();
  return SiteLabels(&reader, std::make_unique<SiteMatcher>(std::move(*sites)));
}

bool SiteLabels::empty() const { return matcher_->empty(); }

std::optional<SiteAnnotation> SiteLabels::Find(const StackView& view) const {
  if (matcher_->empty() || view.site_line < 0 ||
      view.site_line >= static_cast<int>(view.lines.size())) {
    return std::nullopt;
  }
  // The StackView has no columns; its lines are the frames' rows and their
  // inline frames in this same order (stack_view.cc), so index them again.
  const StackLine& sl = view.lines[view.site_line];
  FrameLine line{sl.file, sl.line, 0, sl.function};
  std::string file, function;
  if (absl::StatusOr<std::vector<const Frame*>> frames = reader_->StackFrames(view.id); frames.ok()) {
    int index = 0;
    for (const Frame* f : *frames) {
      if (index + 1 + static_cast<int>(f->inlined.size()) <= view.site_line) {
        index += 1 + static_cast<int>(f->inlined.size());
        continue;
      }
      int depth = view.site_line - index;
      const std::optional<int32_t>& column =
          depth == 0 ? f->row.column : f->inlined[depth - 1].column;
      line.column = column.value_or(0);
      break;
    }
  }
  const SourceSite* s = matcher_->MatchHeap(line);
  if (s == nullptr) return std::nullopt;
  return SiteAnnotation{*s, SiteLabelText(*s)};
}

std::string SiteLabels::Label(const StackView& view) const {
  std::optional<SiteAnnotation> a = Find(view);
  return a ? a->label : view.site_label;
}

void WriteSiteJson(JsonWriter& j, const std::optional<SiteAnnotation>& a) {
  if (!a) {
    j.Null();
    return;
  }
  const SourceSite& s = a->site;
  j.BeginObject();
  j.Key("id").Int(s.id);
  j.Key("kind").String(SiteKindName(s.kind));
  j.Key("type").String(s.type);
  j.Key("type_size");
  if (s.type_size) j.Int(*s.type_size); else j.Null();
  j.Key("bytes");
  if (s.bytes) j.Int(*s.bytes); else j.Null();
  j.Key("file").String(s.file);
  j.Key("line").Int(s.line);
  j.Key("column").Int(s.column);
  j.Key("function").String(s.function);
  j.Key("in_loop").Bool(s.in_loop);
  j.Key("template").String(SiteTemplateName(s.templ));
  j.Key("detail").String(s.detail);
  j.Key("label").String(a->label);
  j.EndObject();
}

}  // namespace atr
