// Timeline: a trace's live heap bytes over time, next to the resident
// memory of its replays, as the series of one chart. `atr timeline` prints
// it as a table (reports/timeline_report.h); `atr report` draws it
// (render/html_report.h).
//
//   ATR_ASSIGN_OR_RETURN(Timeline t, ComputeTimeline(reader, 1000));
//   t.series[0].points;  // (x, live bytes), x in ns since the start (or seq)
//
// REQUIRES: the reader outlives the call. Not thread-safe (one reader).
#ifndef ATR_ANALYSIS_MODEL_TIMELINE_H_
#define ATR_ANALYSIS_MODEL_TIMELINE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "db/event_log_sql.h"
#include "db/trace_reader.h"

namespace atr {

// One series: x in ns since the trace's start (or seq when the trace has
// no timestamps), y in bytes.
struct TimelineSeries {
  std::string name{};
  std::string color{};  // CSS color the chart draws it in
  std::vector<std::pair<int64_t, int64_t>> points{};
};
struct Timeline {
  bool x_is_seq = false;                 // no timestamps: x is the event seq
  std::vector<TimelineSeries> series{};  // live bytes first
  int64_t peak_x = 0, peak_bytes = 0;    // the exact peak of live bytes
};

// Live heap bytes at the end of each of about `points` equal seq intervals
// (kTimelineLiveSql), carried across quiet intervals, plus the exact peak;
// then the resident series of the newest built-in replay and of the newest
// real-allocator replay, when present (at most `points` points each, the
// largest of each run kept).
absl::StatusOr<Timeline> ComputeTimeline(TraceReader& reader, int points);

// Live bytes per seq bucket: ?1 is the bucket width in seqs. Each row is
// (bucket, live bytes at the end of the bucket).
inline constexpr char kTimelineLiveSql[] =
    "WITH p(alloc_seq, free_seq, size) AS ("
    " SELECT a.seq, " ATR_SQL_FREE_SEQ("a") ", a.size FROM event_log a"
    " WHERE " ATR_SQL_IS_ALLOCATION("a") "),"
    " d(b, delta) AS ("
    " SELECT alloc_seq / ?1, size FROM p"
    " UNION ALL"
    " SELECT free_seq / ?1, -size FROM p WHERE free_seq IS NOT NULL)"
    " SELECT b, sum(sum(delta)) OVER (ORDER BY b) FROM d GROUP BY b ORDER BY b";

}  // namespace atr

#endif  // ATR_ANALYSIS_MODEL_TIMELINE_H_
