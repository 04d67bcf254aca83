// CallPaths: rebuilds each thread's call path from the --stack-ops stream
// (kFuncEnter/kFuncExit events, in the thread's program order) and names it
// as a stack of the trie, so every func_enter row carries the full path.
//
// The stack of a func_enter event is, innermost first:
//   [entry of the function, its call site, its caller's call site, ...]
// Call sites are return addresses, like every unwound frame. The entry
// frame is stored with rel_pc = entry + 1, so that rel_pc - 1 lies inside
// the function for every frame of the trace (the symbolizer and the
// frame-size pass look there; docs/trace-format.md). A func_exit event
// carries the stack of the enter it closes.
//
// Robustness: a longjmp (or anything that skips exits) is repaired on the
// next event: an enter first drops frames whose sp_depth is at or beyond its
// own (they cannot be live callers), an exit pops down to the nearest frame
// of the same function. An exit with no matching frame (a frame entered
// before recording started, a forked child's inherited frames) is counted
// and gets stack 0.
//
//   CallPaths paths(&interner);
//   row.stack = paths.OnEvent(image_modules, row);   // for every event row
#ifndef ATR_RECORDER_COLLECTOR_CALL_PATHS_H_
#define ATR_RECORDER_COLLECTOR_CALL_PATHS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "db/trace_rows.h"
#include "recorder/collector/module_map.h"
#include "recorder/collector/stack_interner.h"

namespace atr {

class CallPaths {
 public:
  explicit CallPaths(StackInterner* interner) : interner_(interner) {}

  // The stack to store for `row` (0 for ops other than func enter/exit);
  // kProcessStart forgets the thread's path (a new image starts empty).
  // REQUIRES: rows of one thread in program order.
  StackId OnEvent(const ModuleMap& modules, const EventRow& row);

  int64_t unmatched_exits() const { return unmatched_exits_; }
  int64_t func_events() const { return func_events_; }

 private:
  struct Frame {
    uint64_t fn;          // entry address (absolute)
    uint32_t sp_depth;    // at its enter
    StackId callers;      // [call site, caller's call site, ...]
    StackId entry_stack;  // [entry, call site, ...]: what its events carry
  };
  FrameId Intern(const ModuleMap& modules, uint64_t pc, uint64_t add);

  StackInterner* interner_;
  absl::flat_hash_map<std::pair<int32_t, int32_t>, std::vector<Frame>> threads_;
  int64_t unmatched_exits_ = 0;
  int64_t func_events_ = 0;
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_CALL_PATHS_H_
