// `atr info`: what a trace holds — command, duration, exit, processes,
// threads, events per op, allocation calls and releases, peak live bytes
// (with its seq and time), leaks at exit, distinct stacks.
//
// Every number comes from a documented query (docs/queries.md) or from the
// meta keys the recorder and the allocation pass wrote.
//
//   ATR_ASSIGN_OR_RETURN(TraceInfo info, ComputeInfo(reader));
//   std::string text = RenderInfoText(info);   // or RenderInfoJson / RenderInfoCsv
#ifndef ATR_ANALYSIS_REPORTS_INFO_REPORT_H_
#define ATR_ANALYSIS_REPORTS_INFO_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/trace_reader.h"

namespace atr {

struct OpCount {
  std::string op;      // ops.name
  int64_t calls = 0;   // events with that op
  int64_t bytes = 0;   // sum of their size column
};

struct TraceInfo {
  std::string path;
  bool complete = false;                 // meta complete: finished and indexed
  bool recording_complete = false;       // every process reached its exit
  std::vector<std::string> argv;
  std::string start_time_utc;
  int64_t duration_ns = 0;
  std::optional<int32_t> exit_status;    // root process
  std::optional<int32_t> exit_signal;
  int64_t processes = 0;
  int64_t threads = 0;
  int64_t events = 0;
  std::vector<OpCount> ops;              // by calls, descending
  int64_t allocation_calls = 0;          // successful heap acquisitions
  int64_t allocated_bytes = 0;           // their requested bytes
  int64_t releases = 0;                  // releases that closed an allocation
  int64_t unmatched_releases = 0;        // double frees, unknown pointers
  int64_t failed_allocations = 0;        // acquisitions that returned NULL
  int64_t peak_live_bytes = 0;
  int64_t peak_live_seq = 0;
  int64_t peak_live_ns = 0;
  int64_t leaked_allocations = 0;
  int64_t leaked_bytes = 0;
  int64_t distinct_stacks = 0;
  int64_t lost_events = 0;
};

absl::StatusOr<TraceInfo> ComputeInfo(TraceReader& reader);
std::string RenderInfoText(const TraceInfo& info);
std::string RenderInfoJson(const TraceInfo& info);
// One row: the scalar fields of the JSON, same names and order (argv as a
// JSON array of strings); the per-op counts are in the text and JSON only.
std::string RenderInfoCsv(const TraceInfo& info);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_INFO_REPORT_H_
