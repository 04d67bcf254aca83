// `atr leaks`: blocks never released by the time the program exited,
// grouped by allocation stack, biggest first, each with its symbolized
// stack. Exact: every allocation is paired with its release in the trace.
//
//   ATR_ASSIGN_OR_RETURN(LeakReport r, ComputeLeaks(reader, {.limit = 20}));
//   std::string text = RenderLeaksText(r);
#ifndef ATR_ANALYSIS_REPORTS_LEAKS_REPORT_H_
#define ATR_ANALYSIS_REPORTS_LEAKS_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"
#include "db/trace_reader.h"

namespace atr {

struct LeakOptions {
  int64_t limit = 20;  // stacks listed; 0 = all
};

struct LeakGroup {
  int64_t stack = 0;        // allocation stack id
  int64_t allocations = 0;  // blocks never released
  int64_t bytes = 0;        // their requested bytes
  int64_t first_seq = 0;    // earliest such allocation
  StackView view;
  std::optional<SiteAnnotation> source_site;  // from `atr sites`, when it matched
};

struct LeakReport {
  int64_t leaked_allocations = 0;  // over all stacks
  int64_t leaked_bytes = 0;
  int64_t stacks = 0;              // distinct stacks that leak
  std::vector<LeakGroup> groups;   // the biggest `limit` of them
};

// The query (docs/queries.md, "atr leaks"), over the per-stack sums
// the allocation pass wrote (run through TraceReader::WithStackStats, so
// older traces without the table give the same rows).
inline constexpr char kLeaksByStackSql[] =
    "SELECT stack, leaked, leaked_bytes, first_leak_seq FROM stack_stats WHERE leaked > 0 "
    "ORDER BY leaked_bytes DESC, leaked DESC, stack";

absl::StatusOr<LeakReport> ComputeLeaks(TraceReader& reader, const LeakOptions& options);
std::string RenderLeaksText(const LeakReport& r);
std::string RenderLeaksJson(const LeakReport& r);
// One row per listed stack: rank, stack, allocations, bytes, first_seq, site
// (as in the JSON), source_site (the `atr sites` label, empty if none).
std::string RenderLeaksCsv(const LeakReport& r);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_LEAKS_REPORT_H_
