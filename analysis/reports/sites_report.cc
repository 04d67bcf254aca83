#include "analysis/reports/sites_report.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"
#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/report_table.h"
#include "base/status_macros.h"
#include "base/text_table.h"
#include "db/query.h"

namespace atr {
namespace {

constexpr char kAllocationsByStack[] =
    "SELECT alloc_stack, count(*), sum(size) FROM allocations GROUP BY alloc_stack";

ReportTable UnmatchedTable(const UnmatchedReport& r) {
  ReportTable t({{"site", Column::kText},
                 {"allocations", Column::kCount},
                 {"bytes", Column::kBytes},
                 {"stacks", Column::kCount}});
  for (const RecordedSite& s : r.unmatched) {
    t.AddRow({Cell::Text(s.label), Cell::Int(s.allocations), Cell::Int(s.bytes), Cell::Int(s.stacks)});
  }
  return t;
}

}  // namespace

absl::StatusOr<UnmatchedReport> ComputeUnmatched(TraceReader& reader, const UnmatchedOptions& options) {
  UnmatchedReport r;
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  r.has_sites = !labels.empty();
  StackViews views(&reader);
  struct Group {
    RecordedSite site;
    bool matched = false;
  };
  absl::flat_hash_map<std::string, Group> groups;
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kAllocationsByStack));
  while (q.Next()) {
    int64_t stack = q.Int(0);
    int64_t count = q.Int(1), bytes = q.Int(2);
    ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(stack));
    std::string key = v->site_label.empty() ? "(no stack recorded)" : v->site_label;
    Group& g = groups[key];
    if (g.site.stacks == 0) {
      g.site.label = key;
      g.matched = labels.Find(*v).has_value();
    }
    ++g.site.stacks;
    g.site.allocations += count;
    g.site.bytes += bytes;
    r.allocations += count;
    r.bytes += bytes;
  }
  ATR_RETURN_IF_ERROR(q.status());
  std::vector<RecordedSite> unmatched;
  for (auto& [key, g] : groups) {
    ++r.recorded_sites;
    if (g.matched) {
      ++r.matched_sites;
      r.matched_allocations += g.site.allocations;
      r.matched_bytes += g.site.bytes;
    } else {
      unmatched.push_back(std::move(g.site));
    }
  }
  std::sort(unmatched.begin(), unmatched.end(), [](const RecordedSite& a, const RecordedSite& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.allocations != b.allocations) return a.allocations > b.allocations;
    return a.label < b.label;
  });
  r.unmatched_sites = static_cast<int64_t>(unmatched.size());
  if (options.limit > 0 && static_cast<int64_t>(unmatched.size()) > options.limit) {
    unmatched.resize(options.limit);
  }
  r.unmatched = std::move(unmatched);
  return r;
}

std::string RenderUnmatchedText(const UnmatchedReport& r) {
  std::string out;
  if (!r.has_sites) {
    out = "This trace has no scanned sites yet: run `atr sites -p BUILD_DIR TRACE` first.\n";
  }
  absl::StrAppend(&out, "Recorded sites: ", FormatCount(r.recorded_sites), "; explained by the scan: ",
                  FormatCount(r.matched_sites), " (", FormatBytes(r.matched_bytes), " of ",
                  FormatBytes(r.bytes), " allocated)\n");
  if (r.unmatched.empty()) return out + "Every recorded site matched a scanned site.\n";
  absl::StrAppend(&out, "\nHot sites the scan could not explain:\n");
  TextTable t({"bytes", "allocs", "stacks", "recorded site"},
              {Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
  for (const RecordedSite& s : r.unmatched) {
    t.AddRow({FormatBytes(s.bytes), FormatCount(s.allocations), FormatCount(s.stacks), s.label});
  }
  out += t.Render();
  if (r.unmatched_sites > static_cast<int64_t>(r.unmatched.size())) {
    absl::StrAppend(&out, "... ", r.unmatched_sites - static_cast<int64_t>(r.unmatched.size()),
                    " more (--limit 0 lists all)\n");
  }
  return out;
}

std::string RenderUnmatchedJson(const UnmatchedReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Key("has_sites").Bool(r.has_sites);
  j.Key("recorded_sites").Int(r.recorded_sites);
  j.Key("matched_sites").Int(r.matched_sites);
  j.Key("allocations").Int(r.allocations);
  j.Key("matched_allocations").Int(r.matched_allocations);
  j.Key("bytes").Int(r.bytes);
  j.Key("matched_bytes").Int(r.matched_bytes);
  j.Key("unmatched_sites").Int(r.unmatched_sites);
  j.Key("unmatched");
  UnmatchedTable(r).WriteJson(j);
  j.EndObject();
  return j.str() + "\n";
}

std::string RenderUnmatchedCsv(const UnmatchedReport& r) { return UnmatchedTable(r).RenderCsv(); }

std::string RenderSitesText(const std::vector<SourceSite>& sites) {
  if (sites.empty()) return "No sites.\n";
  TextTable t({"kind", "size", "loop", "location", "function", "type"},
              {Align::kLeft, Align::kRight, Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft});
  for (const SourceSite& s : sites) {
    std::string size = s.type_size ? absl::StrCat(*s.type_size) : "?";
    std::string kind(SiteKindName(s.kind));
    if (s.kind == SiteKind::kContainerGrowth || s.kind == SiteKind::kMalloc) kind = s.detail;
    if (s.templ == SiteTemplate::kPattern) kind += " (template)";
    t.AddRow({kind, size, s.in_loop ? "loop" : "", absl::StrCat(ShortFile(s.file), ":", s.line),
              s.function.empty() ? "-" : s.function, s.type.empty() ? "-" : s.type});
  }
  return t.Render();
}

std::string RenderSitesJson(const std::vector<SourceSite>& sites) {
  return SourceSiteTable(sites, SiteFields::kList).RenderJson();
}

std::string RenderSitesCsv(const std::vector<SourceSite>& sites) {
  return SourceSiteTable(sites, SiteFields::kList).RenderCsv();
}

}  // namespace atr
