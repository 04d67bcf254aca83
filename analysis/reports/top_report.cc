#include "analysis/reports/top_report.h"

#include <algorithm>

#include "analysis/reports/site_groups.h"
#include "base/status_macros.h"
#include "db/query.h"

namespace atr {

absl::StatusOr<std::vector<SiteGroup>> TopSites(TraceReader& reader, TopMetric by) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q,
                       QueryCursor::Run(reader, reader.WithStackStats(kTopByStackSql)));
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  StackViews views(&reader);
  SiteGroups groups(&views, 4, &labels);
  while (q.Next()) {
    ATR_RETURN_IF_ERROR(groups.Add(q.Int(0), {q.Int(1), q.Int(2), q.Int(3), q.Int(4)}));
  }
  ATR_RETURN_IF_ERROR(q.status());
  const size_t m = static_cast<size_t>(by);
  constexpr size_t kBytes = static_cast<size_t>(TopMetric::kBytes);
  // A tie in the ranked metric (common with --by calls) goes to the site
  // that allocated more bytes; SortedBy's name order, kept by the stable
  // sort, settles the rest so the order is total.
  std::vector<SiteGroup> sites = groups.SortedBy(m);
  std::stable_sort(sites.begin(), sites.end(), [m](const SiteGroup& a, const SiteGroup& b) {
    if (a.sums[m] != b.sums[m]) return a.sums[m] > b.sums[m];
    return a.sums[kBytes] > b.sums[kBytes];
  });
  return sites;
}

absl::StatusOr<ReportTable> ComputeTop(TraceReader& reader, const TopOptions& options) {
  ATR_ASSIGN_OR_RETURN(std::vector<SiteGroup> sites, TopSites(reader, options.by));
  ReportTable t({{"rank", Column::kId},
                 {"calls", Column::kCount},
                 {"bytes", Column::kBytes},
                 {"peak_bytes", Column::kBytes},
                 {"leaked_bytes", Column::kBytes},
                 {"stacks", Column::kCount},
                 {"top_stack", Column::kId},
                 {"site", Column::kText}});
  int64_t rank = 0;
  for (const SiteGroup& g : sites) {
    if (options.limit != 0 && rank == options.limit) break;
    t.AddRow({Cell::Int(++rank), Cell::Int(g.sums[0]), Cell::Int(g.sums[1]), Cell::Int(g.sums[2]),
              Cell::Int(g.sums[3]), Cell::Int(g.stacks), Cell::Int(g.top_stack),
              Cell::Text(g.site)});
  }
  return t;
}

}  // namespace atr
