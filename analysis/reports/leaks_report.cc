#include "analysis/reports/leaks_report.h"

#include "absl/strings/str_cat.h"
#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/report_table.h"
#include "base/status_macros.h"
#include "db/query.h"

namespace atr {

absl::StatusOr<LeakReport> ComputeLeaks(TraceReader& reader, const LeakOptions& options) {
  LeakReport r;
  std::vector<LeakGroup> groups;
  {
    ATR_ASSIGN_OR_RETURN(QueryCursor q,
                         QueryCursor::Run(reader, reader.WithStackStats(kLeaksByStackSql)));
    while (q.Next()) {
      LeakGroup g;
      g.stack = q.Int(0);
      g.allocations = q.Int(1);
      g.bytes = q.Int(2);
      g.first_seq = q.Int(3);
      r.leaked_allocations += g.allocations;
      r.leaked_bytes += g.bytes;
      ++r.stacks;
      if (options.limit == 0 || static_cast<int64_t>(groups.size()) < options.limit) {
        groups.push_back(std::move(g));
      }
    }
    ATR_RETURN_IF_ERROR(q.status());
  }
  StackViews views(&reader);
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  for (LeakGroup& g : groups) {
    ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(g.stack));
    g.view = *v;
    g.source_site = labels.Find(g.view);
  }
  r.groups = std::move(groups);
  return r;
}

std::string RenderLeaksText(const LeakReport& r) {
  if (r.leaked_allocations == 0) return "No leaks: every allocation was released.\n";
  std::string out = absl::StrCat("Leaked ", FormatBytes(r.leaked_bytes), " in ",
                                 FormatCount(r.leaked_allocations),
                                 r.leaked_allocations == 1 ? " allocation from "
                                                           : " allocations from ",
                                 FormatCount(r.stacks), r.stacks == 1 ? " stack" : " stacks",
                                 "\n");
  for (size_t i = 0; i < r.groups.size(); ++i) {
    const LeakGroup& g = r.groups[i];
    absl::StrAppend(&out, "\n#", i + 1, "  ", FormatBytes(g.bytes), " in ",
                    FormatCount(g.allocations),
                    g.allocations == 1 ? " allocation  " : " allocations  ",
                    g.source_site ? g.source_site->label : g.view.site_label, "\n");
    out += RenderStackText(g.view, "    ");
  }
  if (static_cast<int64_t>(r.groups.size()) < r.stacks) {
    absl::StrAppend(&out, "\n... ", r.stacks - static_cast<int64_t>(r.groups.size()),
                    " more stacks (--limit 0 lists all)\n");
  }
  return out;
}

std::string RenderLeaksJson(const LeakReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Key("leaked_allocations").Int(r.leaked_allocations);
  j.Key("leaked_bytes").Int(r.leaked_bytes);
  j.Key("stacks").Int(r.stacks);
  j.Key("groups").BeginArray();
  for (const LeakGroup& g : r.groups) {
    j.BeginObject();
    j.Key("stack").Int(g.stack);
    j.Key("allocations").Int(g.allocations);
    j.Key("bytes").Int(g.bytes);
    j.Key("first_seq").Int(g.first_seq);
    j.Key("site").String(g.view.site_label);
    j.Key("source_site");
    WriteSiteJson(j, g.source_site);
    j.Key("frames");
    WriteStackJson(j, g.view);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return j.str() + "\n";
}

std::string RenderLeaksCsv(const LeakReport& r) {
  ReportTable t({{"rank", Column::kId},
                 {"stack", Column::kId},
                 {"allocations", Column::kCount},
                 {"bytes", Column::kBytes},
                 {"first_seq", Column::kId},
                 {"site", Column::kText},
                 {"source_site", Column::kText}});
  int64_t rank = 0;
  for (const LeakGroup& g : r.groups) {
    t.AddRow({Cell::Int(++rank), Cell::Int(g.stack), Cell::Int(g.allocations), Cell::Int(g.bytes),
              Cell::Int(g.first_seq), Cell::Text(g.view.site_label),
              g.source_site ? Cell::Text(g.source_site->label) : Cell::Null()});
  }
  return t.RenderCsv();
}

}  // namespace atr
