#include "replayer/replay_engine.h"

#include <algorithm>
#include <array>
#include <bit>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "db/query.h"

namespace atr::replay {
namespace {

// What the engine does with each op code: one table lookup per event.
enum class Action : uint8_t {
  kOther,
  kUnknown,
  kAcquire,         // heap acquisition (not realloc)
  kRelease,         // heap release (not realloc_release)
  kReallocAcquire,
  kReallocRelease,
  kMmap,
  kMunmap,
  kMremap,
  kMremapRelease,
  kThreadExit,
  kProcessStart,
  kFork,
};

constexpr std::array<Action, kOpCount> MakeActions() {
  std::array<Action, kOpCount> a{};
  for (int code = 0; code < kOpCount; ++code) {
    Op op = static_cast<Op>(code);
    OpInfo info = GetOpInfo(op);
    Action act = Action::kOther;
    if (info.name.empty()) {
      act = Action::kUnknown;
    } else if (op == Op::kRealloc || op == Op::kReallocArray) {
      act = Action::kReallocAcquire;
    } else if (op == Op::kReallocRelease) {
      act = Action::kReallocRelease;
    } else if (op == Op::kMmap) {
      act = Action::kMmap;
    } else if (op == Op::kMunmap) {
      act = Action::kMunmap;
    } else if (op == Op::kMremap) {
      act = Action::kMremap;
    } else if (op == Op::kMremapRelease) {
      act = Action::kMremapRelease;
    } else if (op == Op::kThreadExit) {
      act = Action::kThreadExit;
    } else if (op == Op::kProcessStart) {
      act = Action::kProcessStart;
    } else if (op == Op::kFork) {
      act = Action::kFork;
    } else if (IsHeapOp(op)) {
      act = info.role == OpRole::kAcquire ? Action::kAcquire
            : info.role == OpRole::kRelease ? Action::kRelease
                                            : Action::kOther;
    }
    a[code] = act;
  }
  return a;
}
constexpr std::array<Action, kOpCount> kActions = MakeActions();

constexpr uint64_t kPage = 4096;

bool IsAlignedOp(Op op) {
  switch (op) {
    case Op::kNewAligned: case Op::kNewArrayAligned: case Op::kNewAlignedNothrow:
    case Op::kNewArrayAlignedNothrow: case Op::kDeleteAligned: case Op::kDeleteArrayAligned:
    case Op::kDeleteSizedAligned: case Op::kDeleteArraySizedAligned:
    case Op::kDeleteAlignedNothrow: case Op::kDeleteArrayAlignedNothrow:
      return true;
    default:
      return false;
  }
}

bool IsSizedDelete(Op op) {
  return op == Op::kDeleteSized || op == Op::kDeleteArraySized ||
         op == Op::kDeleteSizedAligned || op == Op::kDeleteArraySizedAligned;
}

EventRef Ref(const EventRow& e) {
  return EventRef{.seq = e.seq, .ts_ns = e.ts_ns, .tid = e.tid, .op = e.op, .stack = e.stack,
                  .size = e.size};
}

// Size and alignment the backend must honour for an acquisition.
void Shape(const EventRow& e, uint64_t* size, uint64_t* align) {
  *size = e.size;
  *align = 0;
  switch (e.op) {
    case Op::kPosixMemalign: case Op::kAlignedAlloc: case Op::kMemalign:
    case Op::kNewAligned: case Op::kNewArrayAligned: case Op::kNewAlignedNothrow:
    case Op::kNewArrayAlignedNothrow:
      *align = e.arg;
      break;
    case Op::kValloc:
    case Op::kPvalloc:  // pvalloc also rounds the usable size up to pages
      *align = kPage;
      break;
    default:
      break;
  }
  // An alignment that is not a power of two failed in the program; the
  // trace says it succeeded, so replay the nearest legal request.
  if (*align != 0 && (*align & (*align - 1)) != 0) *align = std::bit_ceil(*align);
}


}  // namespace

absl::StatusOr<int32_t> DefaultPid(const TraceReader& reader) {
  ATR_ASSIGN_OR_RETURN(std::vector<ProcessRow> procs, reader.Processes());
  const ProcessRow* best = nullptr;
  for (const ProcessRow& p : procs) {
    int64_t s = p.started_seq.value_or(std::numeric_limits<int64_t>::max());
    if (best == nullptr || s < best->started_seq.value_or(std::numeric_limits<int64_t>::max()))
      best = &p;
  }
  if (best != nullptr) return best->pid;
  // No processes rows (a hand-made trace): the first event's process.
  ATR_ASSIGN_OR_RETURN(EventCursor c, reader.Events());
  EventRow e;
  if (c.Next(&e)) return e.pid;
  ATR_RETURN_IF_ERROR(c.status());
  return absl::NotFoundError(absl::StrCat(reader.path(), ": the trace has no events"));
}

ReplayEngine::ReplayEngine(TraceReader* reader, EngineOptions options, ReplayBackend* backend)
    : reader_(reader),
      options_(std::move(options)),
      backend_(options_.pid ? backend : nullptr),
      problems_(options_.max_problems) {}

ReplayEngine::~ReplayEngine() = default;

ReplayEngine::ProcessState& ReplayEngine::Process(int32_t pid) {
  if (last_process_ != nullptr && last_process_->pid == pid) return *last_process_;
  auto [it, inserted] = processes_.try_emplace(pid);
  if (inserted) {
    it->second = std::make_unique<ProcessState>();
    it->second->pid = pid;
    it->second->replayed = backend_ != nullptr && options_.pid && *options_.pid == pid;
    // Without the parent's events (--pid), an unknown release in a forked
    // child may be a block it inherited: not reported.
    it->second->forked_child = options_.pid && parents_.contains(pid);
  }
  last_process_ = it->second.get();
  return *last_process_;
}

ReplayEngine::ThreadState& ReplayEngine::Thread(int64_t thread) {
  size_t i = thread < 0 ? 0 : static_cast<size_t>(thread);
  if (i >= threads_.size()) threads_.resize(i + 1);
  return threads_[i];
}

absl::Status ReplayEngine::Run() {
  ATR_ASSIGN_OR_RETURN(std::vector<ProcessRow> procs, reader_->Processes());
  absl::flat_hash_map<int32_t, bool> traced;
  for (const ProcessRow& p : procs) traced[p.pid] = true;
  for (const ProcessRow& p : procs) {
    if (p.image == 0 && p.ppid && traced.contains(*p.ppid)) parents_[p.pid] = *p.ppid;
  }
  // The pid is filtered here, not in SQL: `thread IN (...)` costs SQLite a
  // lookup per row, more than reading and skipping another process's rows.
  EventFilter filter;
  filter.last_seq = options_.until_seq;
  ATR_ASSIGN_OR_RETURN(EventCursor cursor, reader_->Events(filter));
  // Events are read in batches so the hash-map slots of a batch's addresses
  // can be prefetched before they are needed: with hundreds of thousands of
  // blocks live, every lookup is otherwise a cache miss.
  constexpr int kBatch = 32;
  EventRow batch[kBatch];
  int64_t next_progress = 1 << 16;
  const bool one_pid = options_.pid.has_value();
  const int32_t only_pid = options_.pid.value_or(0);
  bool more = true;
  while (more) {
    int n = 0;
    while (n < kBatch) {
      if (!cursor.Next(&batch[n])) {
        more = false;
        break;
      }
      if (one_pid && batch[n].pid != only_pid) continue;
      if (last_process_ != nullptr && batch[n].pid == last_process_->pid) {
        last_process_->blocks.prefetch(batch[n].addr);
      }
      ++n;
    }
    for (int i = 0; i < n; ++i) {
      const EventRow& e = batch[i];
      ++events_;
      last_seq_ = e.seq;
      OnEvent(e);
      if (options_.on_event) options_.on_event(e);
    }
    if (events_ >= next_progress) {
      next_progress = events_ + (1 << 16);
      if (options_.progress) options_.progress(last_seq_);
    }
  }
  if (!cursor.status().ok()) {
    // Corruption part-way: keep what was replayed, say where it stopped.
    Problem p;
    p.kind = ProblemKind::kUnfinishedTrace;
    p.offending.seq = last_seq_;
    p.detail = absl::StrCat("reading stopped after seq ", last_seq_, ": ",
                            cursor.status().message());
    problems_.Add(std::move(p));
  }
  stopped_early_ = options_.until_seq != std::numeric_limits<int64_t>::max();
  if (!reader_->complete()) {
    Problem p;
    p.kind = ProblemKind::kUnfinishedTrace;
    p.offending.seq = last_seq_;
    p.detail = absl::StrCat("the trace was not finished (meta complete = 0); replayed its ",
                            events_, " events up to seq ", last_seq_);
    problems_.Add(std::move(p));
  }
  if (options_.report_leaks && !stopped_early_) ReportLeaks();
  problems_.Sort();
  return ResolveRefs();
}

absl::Status ReplayEngine::ResolveRefs() {
  std::vector<EventRef*> refs;
  for (Problem& p : problems_.mutable_problems()) {
    for (EventRef* r : {&p.offending, &p.allocation, &p.first_release}) {
      if (r->seq != 0 && r->ts_ns == 0 && r->stack == 0 && r->tid == 0) refs.push_back(r);
    }
  }
  if (refs.empty()) return absl::OkStatus();
  std::sort(refs.begin(), refs.end(), [](EventRef* a, EventRef* b) { return a->seq < b->seq; });
  // One statement per 500 seqs; the seq is the row key.
  for (size_t i = 0; i < refs.size();) {
    size_t j = std::min(refs.size(), i + 500);
    std::string sql = "SELECT seq, ts_ns, tid, op, size, stack FROM events WHERE seq IN (";
    for (size_t k = i; k < j; ++k) absl::StrAppend(&sql, k > i ? "," : "", refs[k]->seq);
    sql += ") ORDER BY seq";
    ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(*reader_, sql));
    size_t k = i;
    while (q.Next()) {
      const int64_t seq = q.Int(0);
      while (k < j && refs[k]->seq < seq) ++k;
      for (; k < j && refs[k]->seq == seq; ++k) {
        EventRef& r = *refs[k];
        r.ts_ns = q.Int(1);
        r.tid = static_cast<int32_t>(q.Int(2));
        r.op = static_cast<Op>(q.Int(3));
        if (r.size == 0) r.size = static_cast<uint64_t>(q.Int(4));
        r.stack = q.Int(5);
      }
    }
    ATR_RETURN_IF_ERROR(q.status());
    i = j;
  }
  return absl::OkStatus();
}

void ReplayEngine::OnEvent(const EventRow& e) {
  const Action act = kActions[static_cast<uint8_t>(e.op)];
  ThreadState& ts = Thread(e.thread);
  if (ts.pending && act != Action::kReallocAcquire) CommitPending(ts);
  ProcessState& ps = Process(e.pid);
  bool heap_op = false;
  switch (act) {
    case Action::kOther:
      break;
    case Action::kUnknown:
      AddProblem(ProblemKind::kUnknownOp, ps, e, nullptr,
                 absl::StrCat("op code ", static_cast<int>(e.op)));
      return;
    case Action::kAcquire:
      heap_op = true;
      if (e.addr != 0) Acquire(ps, e);
      break;
    case Action::kRelease:
      heap_op = true;
      if (e.addr != 0) Release(ps, e);
      break;
    case Action::kReallocRelease:
      heap_op = true;
      ReallocRelease(ps, ts, e);
      break;
    case Action::kReallocAcquire:
      heap_op = true;
      ReallocAcquire(ps, ts, e);
      break;
    case Action::kMmap:
    case Action::kMremap:
      if (e.addr != 0 && e.addr != ~uint64_t{0}) Map(ps, e.addr, e.size);
      break;
    case Action::kMunmap: {
      const uint64_t end = e.addr + (e.size + kPage - 1) / kPage * kPage;
      if (!Unmap(ps, e.addr, e.size)) {
        // Nothing recorded is mapped there: a bug only if a recorded munmap
        // already released it.
        auto it = ps.unmapped.upper_bound(e.addr);
        if (it != ps.unmapped.begin()) --it;
        if (it != ps.unmapped.end() && it->first < end && it->second.first > e.addr) {
          Problem p;
          p.kind = ProblemKind::kBadMunmap;
          p.pid = ps.pid;
          p.addr = e.addr;
          p.offending = Ref(e);
          p.first_release = it->second.second;
          p.detail = absl::StrCat("[0x", absl::Hex(e.addr), ", 0x", absl::Hex(end),
                                  ") was already unmapped at seq ", it->second.second.seq);
          problems_.Add(std::move(p));
        }
      }
      Subtract(ps.unmapped, e.addr, end);
      if (e.size > 0) ps.unmapped[e.addr] = {end, Ref(e)};
      break;
    }
    case Action::kMremapRelease:
      Unmap(ps, e.addr, e.size);
      break;
    case Action::kThreadExit:
      if (ps.replayed) backend_->ThreadExit(e);
      break;
    case Action::kProcessStart:
      if (ps.started && !ps.replayed) {
        // A new image of this pid (exec): the old heap is gone.
        ps.blocks.clear();
        ps.mappings.clear();
      }
      ps.started = true;
      break;
    case Action::kFork:
      if (e.arg != 0 && !options_.pid) OnFork(ps, static_cast<int32_t>(e.arg));
      break;
  }
  if (ps.replayed) backend_->AfterEvent(e, heap_op);
}

void ReplayEngine::Acquire(ProcessState& ps, const EventRow& e) {
  if (AcquireBlock(ps, e, e.addr)) ++heap_ops_;
}

bool ReplayEngine::AcquireBlock(ProcessState& ps, const EventRow& e, uint64_t addr) {
  auto [it, inserted] = ps.blocks.try_emplace(addr);
  Block& b = it->second;
  if (!inserted) {
    if (b.state == BlockState::kPending) {
      // Another thread's realloc evidently released it: commit that first.
      CommitPending(Thread(b.pending_thread));
    } else if (b.state == BlockState::kLive) {
      AddProblem(ProblemKind::kAddressLiveTwice, ps, e, &b,
                 "its release is missing from the trace; the older block is dropped");
      FreeBlock(ps, b, e);
    }
  }
  b = Block{};
  b.alloc_seq = e.seq;
  b.size = e.size;
  b.alloc_op = e.op;
  if (ps.replayed) {
    uint64_t size, align;
    Shape(e, &size, &align);
    absl::StatusOr<uint64_t> h = backend_->Acquire(e, size, align);
    if (h.ok()) {
      b.handle = *h;
      b.in_backend = true;
      live_bytes_ += e.size;
      ++live_objects_;
    } else {
      BackendError(e, h.status());
    }
  }
  return true;
}

void ReplayEngine::CheckRelease(const ProcessState& ps, const Block& b, const EventRow& e) {
  const Family fa = GetOpInfo(b.alloc_op).family;
  const Family fr = GetOpInfo(e.op).family;
  if (fa != fr) {
    AddProblem(ProblemKind::kMismatchedFamily, ps, e, &b,
               absl::StrCat("allocated with ", OpLabel(b.alloc_op), ", released with ",
                            OpLabel(e.op)));
  } else if (fa != Family::kMalloc && IsAlignedOp(b.alloc_op) != IsAlignedOp(e.op)) {
    AddProblem(ProblemKind::kMismatchedFamily, ps, e, &b,
               absl::StrCat("allocated with ", OpLabel(b.alloc_op), ", released with ",
                            OpLabel(e.op), " (alignment forms differ)"));
  }
  if (IsSizedDelete(e.op) && e.size != b.size) {
    AddProblem(ProblemKind::kWrongSizedDelete, ps, e, &b,
               absl::StrCat("delete size ", e.size, ", allocated ", b.size));
  }
}

void ReplayEngine::FreeBlock(ProcessState& ps, Block& b, const EventRow& e) {
  if (b.in_backend) {
    absl::Status s = backend_->Release(e, b.handle, b.alloc_seq);
    if (!s.ok()) BackendError(e, s);
    live_bytes_ -= b.size;
    --live_objects_;
    b.in_backend = false;
  }
  b.state = BlockState::kFreed;
  b.release_seq = e.seq;
  b.pending_thread = -1;
}

void ReplayEngine::Release(ProcessState& ps, const EventRow& e) {
  auto it = ps.blocks.find(e.addr);
  if (it == ps.blocks.end()) {
    if (!ps.forked_child) AddProblem(ProblemKind::kInvalidFree, ps, e, nullptr);
    return;
  }
  Block& b = it->second;
  if (b.state != BlockState::kLive) {
    AddProblem(ProblemKind::kDoubleFree, ps, e, &b);
    return;
  }
  CheckRelease(ps, b, e);
  ++heap_ops_;
  FreeBlock(ps, b, e);
}

void ReplayEngine::ReallocRelease(ProcessState& ps, ThreadState& ts, const EventRow& e) {
  if (e.addr == 0) return;  // realloc(NULL, n): the acquisition half does it all
  auto it = ps.blocks.find(e.addr);
  if (it == ps.blocks.end()) {
    if (!ps.forked_child) AddProblem(ProblemKind::kInvalidRealloc, ps, e, nullptr);
    return;
  }
  Block& b = it->second;
  if (b.state != BlockState::kLive) {
    AddProblem(ProblemKind::kDoubleFree, ps, e, &b, "realloc of a released block");
    return;
  }
  CheckRelease(ps, b, e);
  b.state = BlockState::kPending;
  b.pending_thread = e.thread;
  ts.pending = true;
  ts.pid = e.pid;
  ts.addr = e.addr;
  ts.release = e;
}

void ReplayEngine::CommitPending(ThreadState& ts) {
  ts.pending = false;
  ProcessState& ps = Process(ts.pid);
  auto it = ps.blocks.find(ts.addr);
  if (it == ps.blocks.end() || it->second.state != BlockState::kPending) return;
  ++heap_ops_;
  FreeBlock(ps, it->second, ts.release);
}

void ReplayEngine::ReallocAcquire(ProcessState& ps, ThreadState& ts, const EventRow& e) {
  if (!ts.pending) {
    if (e.addr != 0) Acquire(ps, e);  // realloc(NULL, n), or an old block already reported
    return;
  }
  if (e.addr == 0) {
    if (e.size > 0) {
      // Failed: the old block was never released.
      ts.pending = false;
      auto it = ps.blocks.find(ts.addr);
      if (it != ps.blocks.end() && it->second.state == BlockState::kPending) {
        it->second.state = BlockState::kLive;
        it->second.pending_thread = -1;
      }
    } else {
      CommitPending(ts);  // realloc(p, 0) freed p
    }
    return;
  }
  if (e.addr == ts.addr) {
    CommitPending(ts);  // in place: the old block ends where the new begins
    Acquire(ps, e);
  } else {
    // Moved: the allocator held both while copying.
    ThreadState saved = ts;
    ts.pending = false;
    Acquire(ps, e);
    saved.pending = true;
    CommitPending(saved);
  }
}

void ReplayEngine::Subtract(std::map<uint64_t, std::pair<uint64_t, EventRef>>& m, uint64_t lo,
                            uint64_t hi) {
  auto it = m.upper_bound(lo);
  if (it != m.begin()) --it;
  while (it != m.end() && it->first < hi) {
    const uint64_t s = it->first, t = it->second.first;
    const EventRef r = it->second.second;
    if (t <= lo) {
      ++it;
      continue;
    }
    it = m.erase(it);
    if (s < lo) m[s] = {lo, r};
    if (t > hi) m[hi] = {t, r};
  }
}

void ReplayEngine::Map(ProcessState& ps, uint64_t addr, uint64_t len) {
  if (len == 0) return;
  Subtract(ps.unmapped, addr, addr + (len + kPage - 1) / kPage * kPage);
  Unmap(ps, addr, len);  // MAP_FIXED over an old mapping replaces it
  ps.mappings[addr] = addr + len;
}

bool ReplayEngine::Unmap(ProcessState& ps, uint64_t addr, uint64_t len) {
  const uint64_t end = addr + (len + kPage - 1) / kPage * kPage;
  bool any = false;
  auto it = ps.mappings.upper_bound(addr);
  if (it != ps.mappings.begin()) --it;
  while (it != ps.mappings.end() && it->first < end) {
    uint64_t s = it->first, t = it->second;
    if (t <= addr) {
      ++it;
      continue;
    }
    any = true;
    it = ps.mappings.erase(it);
    if (s < addr) ps.mappings[s] = addr;
    if (t > end) ps.mappings[end] = t;
  }
  return any;
}

void ReplayEngine::OnFork(ProcessState& parent, int32_t child) {
  ProcessState& c = Process(child);
  for (const auto& [addr, b] : parent.blocks) {
    if (b.state == BlockState::kFreed) continue;
    Block copy = b;
    copy.state = BlockState::kLive;
    copy.in_backend = false;
    copy.inherited = true;
    copy.pending_thread = -1;
    c.blocks.try_emplace(addr, copy);
  }
  c.mappings.insert(parent.mappings.begin(), parent.mappings.end());
  last_process_ = nullptr;
}

void ReplayEngine::ReportLeaks() {
  std::vector<std::pair<const ProcessState*, const std::pair<const uint64_t, Block>*>> leaks;
  for (const auto& [pid, ps] : processes_) {
    for (const auto& entry : ps->blocks) {
      if (entry.second.state != BlockState::kFreed && !entry.second.inherited) {
        leaks.emplace_back(ps.get(), &entry);
      }
    }
  }
  // Only the kept ones need an order; the rest are counted.
  auto by_seq = [](const auto& a, const auto& b) {
    return a.second->second.alloc_seq < b.second->second.alloc_seq;
  };
  const size_t keep = std::min(leaks.size(), options_.max_problems);
  std::partial_sort(leaks.begin(), leaks.begin() + static_cast<std::ptrdiff_t>(keep), leaks.end(),
                    by_seq);
  for (const auto& [ps, entry] : leaks) {
    Problem p;
    p.kind = ProblemKind::kLeak;
    p.pid = ps->pid;
    p.addr = entry->first;
    p.allocation.seq = entry->second.alloc_seq;
    p.allocation.size = entry->second.size;
    p.offending = p.allocation;
    problems_.Add(std::move(p));
  }
}

void ReplayEngine::AddProblem(ProblemKind k, const ProcessState& ps, const EventRow& e,
                              const Block* b, std::string detail) {
  Problem p;
  p.kind = k;
  p.pid = ps.pid;
  p.addr = e.addr;
  p.offending = Ref(e);
  if (b != nullptr) {
    p.allocation.seq = b->alloc_seq;
    p.allocation.size = b->size;
    if (b->state == BlockState::kFreed) p.first_release.seq = b->release_seq;
    if (b->state == BlockState::kPending) {
      p.first_release = Ref(threads_[static_cast<size_t>(b->pending_thread)].release);
    }
  }
  p.detail = std::move(detail);
  problems_.Add(std::move(p));
}

void ReplayEngine::BackendError(const EventRow& e, const absl::Status& s) {
  Problem p;
  p.kind = ProblemKind::kModelError;
  p.pid = e.pid;
  p.addr = e.addr;
  p.offending = Ref(e);
  p.detail = std::string(s.message());
  problems_.Add(std::move(p));
}

void TakeProblemsAndOutcome(ReplayEngine& engine, ReplayRun* run) {
  run->problems = std::move(engine.problems());
  ReplaySummary& s = run->summary;
  s.problems = run->problems.total();
  if (run->problems.count(ProblemKind::kUnfinishedTrace) > 0) {
    s.outcome = "partial: the trace is unfinished; replayed as far as it goes";
  } else {
    s.outcome = engine.stopped_early() ? "until" : "complete";
  }
}

}  // namespace atr::replay
