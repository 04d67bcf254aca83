// `atr diff A B`: per allocation site, what changed between two traces of
// the same program (before/after a change, two loads). Sites are matched
// by their label (function, file and line), which survives relinking and
// ASLR where addresses do not.
#ifndef ATR_ANALYSIS_REPORTS_DIFF_REPORT_H_
#define ATR_ANALYSIS_REPORTS_DIFF_REPORT_H_

#include "absl/status/statusor.h"
#include "analysis/reports/top_report.h"
#include "base/report_table.h"
#include "db/trace_reader.h"

namespace atr {

struct DiffOptions {
  TopMetric by = TopMetric::kBytes;  // rank by the absolute change of this metric
  int64_t limit = 20;                // 0 = all sites
};

// Columns: rank, change, calls_a, calls_b, bytes_a, bytes_b, peak_a, peak_b,
// leaked_a, leaked_b, site. `change` = metric in B - metric in A.
absl::StatusOr<ReportTable> ComputeDiff(TraceReader& a, TraceReader& b, const DiffOptions& o);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_DIFF_REPORT_H_
