// `atr stack`: how deep each thread's stack went, along which path, which
// frames are large or dynamic, and (with --stack-size) where a smaller stack
// would first have overflowed.
//
// Every event carries its thread's depth (events.sp_depth), so the deepest
// point is known for any trace ("sampled depth": depth at allocation
// events). Traces recorded with --stack-ops from -finstrument-functions
// programs add the enter/exit stream: exact depth at every call, the call
// path at every enter, and per-function calls and times. The walk is
// replayer/stack_model.h over the events in seq order.
//
//   ATR_ASSIGN_OR_RETURN(StackReport r, ComputeStackReport(reader, {.stack_size = 64 << 10}));
//   std::string text = RenderStackReportText(r);
#ifndef ATR_ANALYSIS_STACK_REPORT_H_
#define ATR_ANALYSIS_STACK_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/trace_reader.h"
#include "replayer/stack_model.h"

namespace atr {

struct StackReportOptions {
  uint64_t stack_size = 0;  // bytes; > 0: report the first overflow per thread
  int limit = 10;           // rows of the frame and function tables (0 = all)
  int timeline_buckets = 60;
};

// One frame of a reported path.
struct StackPathFrame {
  std::string function;              // "??" when unknown
  std::string location;              // "file.c:12", or "" when unknown
  std::optional<int32_t> frame_size; // bytes (frames.frame_size)
  bool dynamic_frame = false;
};

struct ThreadStackReport {
  ThreadRow thread;
  ThreadStackState state;                  // max depth, overflow, timeline...
  std::optional<uint64_t> stack_bytes;     // stack_hi - stack_lo
  std::vector<StackPathFrame> deepest_path;    // innermost first
  std::vector<StackPathFrame> overflow_path;   // innermost first
  uint32_t deepest_recursion = 0;          // most frames of one function in deepest_path
  std::string deepest_recursion_function;
};

struct FunctionStackRow {
  std::string function;
  std::optional<int32_t> frame_size;
  bool dynamic_frame = false;
  FunctionStackStats stats;
};

struct FrameSizeRow {
  std::string function;
  std::string module;
  int32_t frame_size = 0;
  bool dynamic_frame = false;
};

struct StackReport {
  std::string trace;
  bool stack_ops = false;           // the enter/exit stream is in the trace
  int64_t func_events = 0;
  int64_t unmatched_exits = 0;
  uint64_t stack_size = 0;          // the --stack-size checked (0: none)
  int64_t timeline_start_ns = 0, timeline_end_ns = 0;
  std::vector<ThreadStackReport> threads;
  std::vector<FrameSizeRow> largest_frames;    // by frame_size, descending
  std::vector<FrameSizeRow> dynamic_frames;
  std::vector<FunctionStackRow> functions;     // by inclusive time, descending
};

absl::StatusOr<StackReport> ComputeStackReport(TraceReader& reader,
                                               const StackReportOptions& options);
std::string RenderStackReportText(const StackReport& r);
std::string RenderStackReportJson(const StackReport& r);

}  // namespace atr

#endif  // ATR_ANALYSIS_STACK_REPORT_H_
