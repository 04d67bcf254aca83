#include "analysis/model/site_label.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "analysis/sites/site_store.h"
#include "base/json_writer.h"
#include "base/status_macros.h"

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
  ATR_ASSIGN_OR_RETURN(std::vector<SourceSite> sites, ReadSites(reader));
  return SiteLabels(&reader, std::make_unique<SiteMatcher>(std::move(sites)));
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

ReportTable SourceSiteTable(const std::vector<SourceSite>& sites, SiteFields fields) {
  const bool list = fields == SiteFields::kList;
  std::vector<Column> columns = {{"id", Column::kId},         {"kind", Column::kText},
                                 {"type", Column::kText},     {"type_size", Column::kBytes},
                                 {"bytes", Column::kBytes},   {"file", Column::kText},
                                 {"line", Column::kId},       {"column", Column::kId}};
  if (list) columns.push_back({"end_line", Column::kId});
  columns.insert(columns.end(), {{"function", Column::kText},
                                 {"in_loop", Column::kBool},
                                 {"template", Column::kText},
                                 {"detail", Column::kText},
                                 {"label", Column::kText}});
  ReportTable t(std::move(columns));
  auto opt = [](const auto& v) { return v ? Cell::Int(*v) : Cell::Null(); };
  for (const SourceSite& s : sites) {
    std::vector<Cell> row = {Cell::Int(s.id), Cell::Text(std::string(SiteKindName(s.kind))),
                             Cell::Text(s.type), opt(s.type_size), opt(s.bytes),
                             Cell::Text(s.file), Cell::Int(s.line), Cell::Int(s.column)};
    if (list) row.push_back(Cell::Int(s.end_line));
    row.insert(row.end(), {Cell::Text(s.function), Cell::Bool(s.in_loop),
                           Cell::Text(std::string(SiteTemplateName(s.templ))),
                           Cell::Text(s.detail), Cell::Text(SiteLabelText(s))});
    t.AddRow(std::move(row));
  }
  return t;
}

void WriteSiteJson(JsonWriter& j, const std::optional<SiteAnnotation>& a) {
  if (!a) {
    j.Null();
    return;
  }
  // The label is SiteLabelText(a->site) by construction (Find).
  ReportTable t = SourceSiteTable({a->site}, SiteFields::kAnnotation);
  j.BeginObject();
  t.WriteRowMembers(j, 0);
  j.EndObject();
}

}  // namespace atr
