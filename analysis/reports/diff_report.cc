#include "analysis/reports/diff_report.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "base/status_macros.h"

namespace atr {

absl::StatusOr<ReportTable> ComputeDiff(TraceReader& a, TraceReader& b, const DiffOptions& o) {
  ATR_ASSIGN_OR_RETURN(std::vector<SiteGroup> sa, TopSites(a, o.by));
  ATR_ASSIGN_OR_RETURN(std::vector<SiteGroup> sb, TopSites(b, o.by));
  struct Pair {
    std::vector<int64_t> a = std::vector<int64_t>(4, 0);
    std::vector<int64_t> b = std::vector<int64_t>(4, 0);
  };
  std::map<std::string, Pair> sites;  // ordered: ties rank by name
  for (const SiteGroup& g : sa) sites[g.site].a = g.sums;
  for (const SiteGroup& g : sb) sites[g.site].b = g.sums;
  const size_t m = static_cast<size_t>(o.by);
  std::vector<std::pair<std::string, Pair>> ranked(sites.begin(), sites.end());
  std::stable_sort(ranked.begin(), ranked.end(), [m](const auto& x, const auto& y) {
    return std::llabs(x.second.b[m] - x.second.a[m]) > std::llabs(y.second.b[m] - y.second.a[m]);
  });
  ReportTable t({{"rank", Column::kId}, {"change", Column::kCount},
                 {"calls_a", Column::kCount}, {"calls_b", Column::kCount},
                 {"bytes_a", Column::kBytes}, {"bytes_b", Column::kBytes},
                 {"peak_a", Column::kBytes}, {"peak_b", Column::kBytes},
                 {"leaked_a", Column::kBytes}, {"leaked_b", Column::kBytes},
                 {"site", Column::kText}});
  int64_t rank = 0;
  for (const auto& [site, p] : ranked) {
    if (p.a == p.b) continue;  // unchanged sites are noise in a diff
    if (o.limit && rank == o.limit) break;
    t.AddRow({Cell::Int(++rank), Cell::Int(p.b[m] - p.a[m]), Cell::Int(p.a[0]),
              Cell::Int(p.b[0]), Cell::Int(p.a[1]), Cell::Int(p.b[1]), Cell::Int(p.a[2]),
              Cell::Int(p.b[2]), Cell::Int(p.a[3]), Cell::Int(p.b[3]), Cell::Text(site)});
  }
  return t;
}

}  // namespace atr
