// `atr temp`, `atr lifetimes`, `atr sizes`: per-site distributions of how
// allocations are used.
//
//   temp       allocations released before their thread made any other
//              allocation (heaptrack's "temporary allocations"): pure churn.
//   lifetimes  time from allocation to release, in decade buckets
//              (<1us, <10us, ..., >=1s, never released).
//   sizes      requested sizes in power-of-two buckets (<=16, <=32, ...).
//
// Each is one documented query (docs/queries.md) grouped by site.
#ifndef ATR_ANALYSIS_REPORTS_HISTOGRAM_REPORTS_H_
#define ATR_ANALYSIS_REPORTS_HISTOGRAM_REPORTS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "base/report_table.h"
#include "db/trace_reader.h"

namespace atr {

struct HistogramOptions {
  int64_t limit = 20;  // sites listed, biggest first; 0 = all
};

// Columns: rank, calls, temporary, temporary_share, temporary_bytes, site.
absl::StatusOr<ReportTable> ComputeTemporary(TraceReader& reader, const HistogramOptions& o);
// Columns: rank, calls, lt_1us, lt_10us, lt_100us, lt_1ms, lt_10ms, lt_100ms,
// lt_1s, ge_1s, never_freed, median_ns, site.
absl::StatusOr<ReportTable> ComputeLifetimes(TraceReader& reader, const HistogramOptions& o);
// Columns: rank, calls, bytes, le_16, le_32, ..., le_4096, gt_4096, min, max, site.
absl::StatusOr<ReportTable> ComputeSizes(TraceReader& reader, const HistogramOptions& o);

// The queries, for docs/queries.md and the sqlite3 shell.
extern const char kTemporaryByStackSql[];
extern const char kLifetimeBucketsByStackSql[];
extern const char kSizesByStackSql[];

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_HISTOGRAM_REPORTS_H_
