// StackDepthModel: the stack side of a replay. Each recorded thread's stack is a
// sequence of frames pushed by kFuncEnter and popped by kFuncExit events
// (--stack-ops traces); every event's sp_depth is the depth it saw. Driven
// in seq order next to the heap model, it reproduces the depth timeline,
// per-function call statistics (as uftrace reports them) and, given a stack
// size, the first event at which each thread would have overflowed it.
//
// Layout per thread: a vector of live frames, outermost first; each frame
// keeps its enter time, the time its finished children took and the
// deepest sp_depth seen while it was live. Memory: O(max call depth +
// distinct functions), never O(events).
//
//   StackDepthModel model({.stack_size = 64 * 1024});
//   while (cursor.Next(&e)) model.OnEvent(e);
//   model.Finish(last_ts_ns);
//   for (const auto& [key, t] : model.threads()) ... t.max_depth, t.overflow
#ifndef ATR_REPLAYER_STACK_DEPTH_MODEL_H_
#define ATR_REPLAYER_STACK_DEPTH_MODEL_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "db/trace_rows.h"

namespace atr {

struct StackDepthModelOptions {
  uint64_t stack_size = 0;      // bytes; 0: no overflow check
  int64_t timeline_start_ns = 0;  // timeline covers [start, end) in buckets
  int64_t timeline_end_ns = 0;    // end <= start: no timeline
  int timeline_buckets = 100;
};

// One event, as the reports name it.
struct StackPoint {
  int64_t seq = 0;
  int64_t ts_ns = 0;
  uint32_t depth = 0;   // sp_depth, bytes
  StackId stack = 0;    // the call path there (0: none recorded)
};

struct ThreadStackState {
  int32_t pid = 0;
  int32_t tid = 0;
  StackPoint max;                       // deepest event (first one at that depth)
  std::optional<StackPoint> overflow;   // first event deeper than stack_size
  int64_t events = 0;                   // events with a known depth
  int64_t func_events = 0;              // enter/exit events
  uint32_t max_frames = 0;              // deepest call path, in frames
  std::vector<uint32_t> timeline;       // max depth per bucket (0: no event)
};

// Per function (by entry address within one process), enter/exit stream.
struct FunctionStackStats {
  int32_t pid = 0;
  uint64_t fn = 0;                 // entry address (absolute, in pid)
  StackId any_stack = 0;           // a func_enter stack naming it (its leaf)
  int64_t calls = 0;
  int64_t inclusive_ns = 0;        // summed over calls; recursion counts each level
  int64_t exclusive_ns = 0;        // inclusive minus time in instrumented callees
  uint32_t max_depth_inside = 0;   // deepest sp_depth while a call was live
  uint32_t max_recursion = 0;      // most simultaneous calls on one thread
  int64_t unfinished = 0;          // calls still live at the end (exit/crash)
};

class StackDepthModel {
 public:
  explicit StackDepthModel(StackDepthModelOptions options = {}) : options_(options) {}

  // REQUIRES: events in seq order.
  void OnEvent(const EventRow& e);
  // Closes the frames still live at `end_ts_ns` (counted as unfinished).
  void Finish(int64_t end_ts_ns);

  bool saw_func_events() const { return func_events_ > 0; }
  int64_t unmatched_exits() const { return unmatched_exits_; }
  const std::vector<ThreadStackState>& threads() const { return thread_states_; }
  // In first-call order.
  const std::vector<FunctionStackStats>& functions() const { return functions_; }
  const StackDepthModelOptions& options() const { return options_; }

 private:
  struct LiveFrame {
    size_t function;       // index into functions_
    int64_t enter_ts;
    int64_t children_ns;
    uint32_t max_depth;
  };
  struct Thread {
    size_t state;          // index into thread_states_
    std::vector<LiveFrame> frames;
    absl::flat_hash_map<size_t, uint32_t> active;  // function -> live calls
  };
  Thread& ThreadOf(const EventRow& e);
  void Pop(Thread& t, int64_t ts);

  StackDepthModelOptions options_;
  absl::flat_hash_map<std::pair<int32_t, int32_t>, Thread> threads_;
  std::vector<ThreadStackState> thread_states_;
  absl::flat_hash_map<std::pair<int32_t, uint64_t>, size_t> function_index_;
  std::vector<FunctionStackStats> functions_;
  int64_t func_events_ = 0;
  int64_t unmatched_exits_ = 0;
};

}  // namespace atr

#endif  // ATR_REPLAYER_STACK_DEPTH_MODEL_H_
