// `atr stack`: how deep each thread's stack went, along which path, which
// frames are large or dynamic, and (with --stack-size) where a smaller stack
// would first have overflowed.
//
// Every event carries its thread's depth (events.sp_depth), so the deepest
// point is known for any trace ("sampled depth": depth at allocation
// events). Traces recorded with --stack-ops from -finstrument-functions
// programs add the enter/exit stream: exact depth at every call, the call
// path at every enter, and per-function calls and times. The walk is
// replayer/stack_depth_model.h over the events in seq order.
//
//   ATR_ASSIGN_OR_RETURN(StackDepthReport r, ComputeStackDepthReport(reader, {.stack_size = 64 << 10}));
//   std::string text = RenderStackDepthReportText(r);
//
// `atr replay --stack-size` drives the same model inside the heap replay
// (StackDepthModelOptionsFor, then StackDepthReportFromModel on the finished model)
// and renders its per-thread part (RenderStackCheckText/Json, the
// StackThreadsTable for CSV): one code path for both commands.
#ifndef ATR_ANALYSIS_REPORTS_STACK_DEPTH_REPORT_H_
#define ATR_ANALYSIS_REPORTS_STACK_DEPTH_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/json_writer.h"
#include "base/report_table.h"
#include "db/trace_reader.h"
#include "replayer/stack_depth_model.h"

namespace atr {

struct StackDepthReportOptions {
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

struct ThreadStackDepthReport {
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

struct StackDepthReport {
  std::string trace;
  bool stack_ops = false;           // the enter/exit stream is in the trace
  int64_t func_events = 0;
  int64_t unmatched_exits = 0;
  uint64_t stack_size = 0;          // the --stack-size checked (0: none)
  int64_t timeline_start_ns = 0, timeline_end_ns = 0;
  std::vector<ThreadStackDepthReport> threads;
  std::vector<FrameSizeRow> largest_frames;    // by frame_size, descending
  std::vector<FrameSizeRow> dynamic_frames;
  std::vector<FunctionStackRow> functions;     // by inclusive time, descending
};

absl::StatusOr<StackDepthReport> ComputeStackDepthReport(TraceReader& reader,
                                               const StackDepthReportOptions& options);
std::string RenderStackDepthReportText(const StackDepthReport& r);
std::string RenderStackDepthReportJson(const StackDepthReport& r);

// A --stack-size value: bytes, with an optional K, M or G suffix (powers of
// 1024; "64K", "1M", "8192"). Errors: malformed or zero, in one line.
absl::StatusOr<uint64_t> ParseStackSize(const std::string& text);

// The model's options for a walk over `reader`'s events: the timeline spans
// the trace's first to last timestamp.
absl::StatusOr<StackDepthModelOptions> StackDepthModelOptionsFor(TraceReader& reader, uint64_t stack_size,
                                                       int timeline_buckets);
// A finished model's threads (thread rows and paths resolved, by pid/tid)
// and functions (named, by inclusive time); the frame tables stay empty.
// REQUIRES: model.Finish() was called; model ran over reader's events.
absl::StatusOr<StackDepthReport> StackDepthReportFromModel(TraceReader& reader, const StackDepthModel& model);

// The per-thread depth and overflow check alone, as `atr replay
// --stack-size` prints it: the depth source in one line, then per thread its
// max depth, depth over time and first overflow with the path.
std::string RenderStackCheckText(const StackDepthReport& r);
// The same as one JSON object's members: depth_source, func_events,
// unmatched_exits, stack_size_checked, timeline_start_ns/end_ns, threads[]
// (the fields of `atr stack --json`). REQUIRES: inside an open object.
void WriteStackCheckJson(JsonWriter& j, const StackDepthReport& r);
// One row per thread: pid, tid, name, stack_bytes, max_depth, max_seq,
// stack_size, overflow_seq, overflow_at_ns (since the trace's start),
// overflow_depth, overflow_path (innermost first, "f x3 < g < main"); the
// overflow columns are null where none. For --csv.
ReportTable StackThreadsTable(const StackDepthReport& r);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_STACK_DEPTH_REPORT_H_
