// `atr top`: allocation sites ranked by calls, bytes allocated, bytes live
// at the peak of live memory, or bytes leaked.
//
// One query over the per-stack sums the allocation pass wrote (stack_stats;
// kTopByStackSql, docs/queries.md), grouped by site in SiteGroups.
#ifndef ATR_ANALYSIS_REPORTS_TOP_REPORT_H_
#define ATR_ANALYSIS_REPORTS_TOP_REPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "analysis/reports/site_groups.h"
#include "base/report_table.h"
#include "db/trace_reader.h"

namespace atr {

enum class TopMetric { kCalls = 0, kBytes = 1, kPeak = 2, kLeaked = 3 };

struct TopOptions {
  TopMetric by = TopMetric::kBytes;
  int64_t limit = 20;  // 0 = all sites
};

// Run through TraceReader::WithStackStats. peak_bytes are the bytes of the
// stack's blocks live at meta alloc_peak_live_seq.
inline constexpr char kTopByStackSql[] =
    "SELECT stack, calls, bytes, peak_bytes, leaked_bytes FROM stack_stats ORDER BY stack";

// Every site with sums {calls, bytes, peak_bytes, leaked_bytes}, ranked by `by`.
absl::StatusOr<std::vector<SiteGroup>> TopSites(TraceReader& reader, TopMetric by);

// Columns: rank, calls, bytes, peak_bytes, leaked_bytes, stacks, top_stack, site.
absl::StatusOr<ReportTable> ComputeTop(TraceReader& reader, const TopOptions& options);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_TOP_REPORT_H_
