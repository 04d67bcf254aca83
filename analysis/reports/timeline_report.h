// `atr timeline`: live heap bytes over time next to the modelled resident
// bytes of the newest built-in replay and the resident bytes of the newest
// real-allocator replay (when the trace holds them), as one table sampled
// at about `points` moments. The series come from ComputeTimeline
// (analysis/model/timeline.h, also the HTML report's chart); a replay series is
// read as a step function (its last sample at or before each moment).
#ifndef ATR_ANALYSIS_REPORTS_TIMELINE_REPORT_H_
#define ATR_ANALYSIS_REPORTS_TIMELINE_REPORT_H_

#include "absl/status/statusor.h"
#include "base/report_table.h"
#include "db/trace_reader.h"

namespace atr {

// Columns: time_ns (or seq when the trace has no timestamps), live_bytes,
// then modelled_resident_bytes and real_resident_bytes when the trace holds
// such replays (NULL before a series' first sample).
absl::StatusOr<ReportTable> ComputeTimelineTable(TraceReader& reader, int points);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_TIMELINE_REPORT_H_
