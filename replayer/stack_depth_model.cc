#include "replayer/stack_depth_model.h"

#include <algorithm>

namespace atr {
namespace {
// How far below the top an exit looks for its function (frames above it
// were left without an exit: longjmp, a frame entered before recording).
constexpr size_t kExitSearch = 64;
}  // namespace

StackDepthModel::Thread& StackDepthModel::ThreadOf(const EventRow& e) {
  auto [it, inserted] = threads_.try_emplace({e.pid, e.tid});
  if (inserted) {
    it->second.state = thread_states_.size();
    ThreadStackState s;
    s.pid = e.pid;
    s.tid = e.tid;
    if (options_.timeline_end_ns > options_.timeline_start_ns) {
      s.timeline.assign(static_cast<size_t>(std::max(1, options_.timeline_buckets)), 0);
    }
    thread_states_.push_back(std::move(s));
  }
  return it->second;
}

void StackDepthModel::Pop(Thread& t, int64_t ts) {
  LiveFrame f = t.frames.back();
  t.frames.pop_back();
  FunctionStackStats& fs = functions_[f.function];
  int64_t inclusive = std::max<int64_t>(0, ts - f.enter_ts);
  fs.inclusive_ns += inclusive;
  fs.exclusive_ns += std::max<int64_t>(0, inclusive - f.children_ns);
  fs.max_depth_inside = std::max(fs.max_depth_inside, f.max_depth);
  if (auto it = t.active.find(f.function); it != t.active.end() && it->second > 0) --it->second;
  if (!t.frames.empty()) {
    LiveFrame& parent = t.frames.back();
    parent.children_ns += inclusive;
    parent.max_depth = std::max(parent.max_depth, f.max_depth);
  }
}

void StackDepthModel::OnEvent(const EventRow& e) {
  Thread& t = ThreadOf(e);
  if (e.op == Op::kProcessStart) {
    // A new image (exec) on this pid: the old image's frames are gone.
    while (!t.frames.empty()) {
      ++functions_[t.frames.back().function].unfinished;
      Pop(t, e.ts_ns);
    }
  }
  if (e.op == Op::kFuncEnter) {
    ++func_events_;
    ++thread_states_[t.state].func_events;
    auto [it, inserted] = function_index_.try_emplace({e.pid, e.addr}, functions_.size());
    if (inserted) functions_.push_back({.pid = e.pid, .fn = e.addr, .any_stack = e.stack});
    size_t fi = it->second;
    FunctionStackStats& fs = functions_[fi];
    ++fs.calls;
    if (fs.any_stack == 0) fs.any_stack = e.stack;
    uint32_t& live = t.active[fi];
    ++live;
    fs.max_recursion = std::max(fs.max_recursion, live);
    t.frames.push_back({.function = fi, .enter_ts = e.ts_ns, .children_ns = 0,
                        .max_depth = e.sp_depth});
    ThreadStackState& s = thread_states_[t.state];
    s.max_frames = std::max(s.max_frames, static_cast<uint32_t>(t.frames.size()));
  } else if (e.op == Op::kFuncExit) {
    ++func_events_;
    ++thread_states_[t.state].func_events;
    auto it = function_index_.find({e.pid, e.addr});
    size_t found = 0;
    if (it != function_index_.end()) {
      size_t limit = std::min(t.frames.size(), kExitSearch);
      for (size_t i = 1; i <= limit; ++i) {
        if (t.frames[t.frames.size() - i].function == it->second) {
          found = i;
          break;
        }
      }
    }
    if (found == 0) {
      ++unmatched_exits_;
    } else {
      if (e.sp_depth != 0) {
        LiveFrame& top = t.frames.back();
        top.max_depth = std::max(top.max_depth, e.sp_depth);
      }
      for (size_t i = 0; i < found; ++i) Pop(t, e.ts_ns);
    }
  } else if (e.sp_depth != 0 && !t.frames.empty()) {
    LiveFrame& top = t.frames.back();
    top.max_depth = std::max(top.max_depth, e.sp_depth);
  }

  if (e.sp_depth == 0) return;
  ThreadStackState& s = thread_states_[t.state];
  ++s.events;
  if (e.sp_depth > s.max.depth) {
    s.max = {.seq = e.seq, .ts_ns = e.ts_ns, .depth = e.sp_depth, .stack = e.stack};
  }
  if (options_.stack_size != 0 && !s.overflow && e.sp_depth > options_.stack_size) {
    s.overflow = StackPoint{.seq = e.seq, .ts_ns = e.ts_ns, .depth = e.sp_depth, .stack = e.stack};
  }
  if (!s.timeline.empty()) {
    int64_t span = options_.timeline_end_ns - options_.timeline_start_ns;
    int64_t off = std::clamp<int64_t>(e.ts_ns - options_.timeline_start_ns, 0, span - 1);
    size_t b = static_cast<size_t>(static_cast<__int128>(off) *
                                   static_cast<int64_t>(s.timeline.size()) / span);
    s.timeline[b] = std::max(s.timeline[b], e.sp_depth);
  }
}

void StackDepthModel::Finish(int64_t end_ts_ns) {
  for (auto& [key, t] : threads_) {
    while (!t.frames.empty()) {
      ++functions_[t.frames.back().function].unfinished;
      Pop(t, end_ts_ns);
    }
  }
}

}  // namespace atr
