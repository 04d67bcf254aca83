#include "recorder/collector/call_paths.h"

namespace atr {
namespace {
// How far down an exit looks for its function before calling it unmatched.
constexpr size_t kExitSearch = 64;
}  // namespace

FrameId CallPaths::Intern(const ModuleMap& modules, uint64_t pc, uint64_t add) {
  ResolvedPc r = modules.Resolve(pc);
  return interner_->InternFrame(r.module_id, r.rel_pc + add);
}

StackId CallPaths::OnEvent(const ModuleMap& modules, const EventRow& row) {
  if (row.op == Op::kProcessStart) {
    threads_.erase({row.pid, row.tid});
    return 0;
  }
  if (row.op != Op::kFuncEnter && row.op != Op::kFuncExit) return 0;
  ++func_events_;
  std::vector<Frame>& path = threads_[{row.pid, row.tid}];
  if (row.op == Op::kFuncEnter) {
    if (row.sp_depth != 0) {
      while (!path.empty() && path.back().sp_depth >= row.sp_depth) path.pop_back();
    }
    StackId parent = path.empty() ? 0 : path.back().callers;
    Frame f{.fn = row.addr, .sp_depth = row.sp_depth, .callers = 0, .entry_stack = 0};
    f.callers = row.arg != 0 ? interner_->InternChild(parent, Intern(modules, row.arg, 0)) : parent;
    f.entry_stack = interner_->InternChild(f.callers, Intern(modules, row.addr, 1));
    path.push_back(f);
    return f.entry_stack;
  }
  size_t limit = path.size() < kExitSearch ? path.size() : kExitSearch;
  for (size_t i = 1; i <= limit; ++i) {
    const Frame& f = path[path.size() - i];
    if (f.fn != row.addr) continue;
    StackId s = f.entry_stack;
    path.resize(path.size() - i);
    return s;
  }
  ++unmatched_exits_;
  return 0;
}

}  // namespace atr
