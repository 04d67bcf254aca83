#include "recorder/collector/collector.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "recorder/collector/spool_dir.h"

namespace atr {

// One spool file: one process image.
struct Collector::ProcessImage {
  std::string path;
  SpoolFileReader reader;
  int64_t file_id = 0;         // spool_progress.id
  uint64_t committed = 0;      // spool_progress.committed_offset
  uint64_t freed = 0;          // bytes [0, freed) punched out of the file
  int64_t first_module_row = 0;
  bool started = false;        // ProcessRecord seen
  bool terminated = false;     // its process_exit or exec event seen
  int32_t pid = 0;
  ProcessRow row;              // what the trace's processes table gets
  uint64_t ref_tsc = 0;        // clock reference pair of its ProcessRecord
  int64_t ref_mono_ns = 0;
  TscClock clock;
  ModuleMap modules;
  absl::flat_hash_map<uint64_t, StackId> stacks_by_hash;  // this image's hashes
};

struct Collector::ThreadState {
  ThreadRow row;
  bool dirty = true;
};

// Inserts batches of event rows (sorted by seq) on its own thread, so
// SQLite's b-tree work overlaps the decoding of the next batch. Push stages
// a batch on the caller's thread (TraceWriter::StageEvents: thread ids and
// the allocation pass, the other half of the work) and queues the rows; at
// most kMaxQueued batches wait, so the collector's memory stays bounded
// when SQLite is the slower side (Push blocks). The first error stops the
// inserts and is returned by every later Push/Wait.
class Collector::EventPipe {
 public:
  EventPipe(TraceWriter* writer, std::mutex* writer_mu)
      : writer_(writer), writer_mu_(writer_mu), thread_([this] { Run(); }) {}
  ~EventPipe() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // REQUIRES: no other writer call runs meanwhile on the caller's side.
  absl::Status Push(absl::Span<const EventRow> batch) {
    StagedEventRows rows = TakeSpare();
    if (auto s = writer_->StageEvents(batch, &rows); !s.ok()) return s;
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return queue_.size() < kMaxQueued || !status_.ok(); });
    if (!status_.ok()) return status_;
    queue_.push_back(std::move(rows));
    cv_.notify_all();
    return absl::OkStatus();
  }

  // Returns once every pushed batch is inserted (or failed).
  absl::Status Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return (queue_.empty() && !busy_) || !status_.ok(); });
    return status_;
  }

  // Emptied rows with their capacity, for the next batch.
  StagedEventRows TakeSpare() {
    std::lock_guard<std::mutex> l(mu_);
    return std::move(spare_);
  }

 private:
  static constexpr size_t kMaxQueued = 2;

  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      StagedEventRows batch = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      l.unlock();
      absl::Status s;
      {
        std::lock_guard<std::mutex> w(*writer_mu_);
        s = writer_->InsertStagedEvents(&batch);
      }
      l.lock();
      busy_ = false;
      spare_ = std::move(batch);
      if (!s.ok() && status_.ok()) status_ = s;
      cv_.notify_all();
    }
  }

  TraceWriter* writer_;
  std::mutex* writer_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StagedEventRows> queue_;
  StagedEventRows spare_;
  bool busy_ = false;
  bool stop_ = false;
  absl::Status status_;
  std::thread thread_;  // last: starts after the fields it uses
};

// Writes new frames and stack nodes as the interner creates them, and keeps
// the frames to symbolize, per module.
class Collector::FrameSink : public StackSink {
 public:
  FrameSink(TraceWriter* w, std::mutex* writer_mu) : writer_(w), writer_mu_(writer_mu) {}
  void OnNewFrame(FrameId id, int64_t module_id, uint64_t rel_pc) override {
    if (!restoring) {
      std::lock_guard<std::mutex> l(*writer_mu_);
      Note(writer_->PutFrame({.id = id, .module_id = module_id, .rel_pc = rel_pc}));
    }
    if (module_id != 0) frames_by_module[module_id].push_back({id, rel_pc});
  }
  void OnNewStackNode(StackId id, StackId parent, FrameId frame) override {
    if (restoring) return;
    std::lock_guard<std::mutex> l(*writer_mu_);
    Note(writer_->AddStackNode({.id = id, .parent = parent, .frame = frame}));
  }
  absl::Status TakeStatus() { return std::exchange(status_, absl::OkStatus()); }
  void Note(absl::Status s) { status_.Update(s); }

  absl::flat_hash_map<int64_t, std::vector<FrameToSymbolize>> frames_by_module;
  bool restoring = false;  // frames and nodes fed back from the trace: not written again

 private:
  TraceWriter* writer_;
  std::mutex* writer_mu_;
  absl::Status status_;
};

Collector::Collector(TraceWriter* writer, CollectorOptions options)
    : writer_(writer),
      options_(options),
      frame_sink_(std::make_unique<FrameSink>(writer, &writer_mu_)),
      interner_(frame_sink_.get()),
      event_pipe_(std::make_unique<EventPipe>(writer, &writer_mu_)) {}

Collector::~Collector() = default;

void Collector::RestoreInterner(const ResumeState& state, absl::Status* status) {
  // Ids are handed out densely in first-seen order, so feeding the rows
  // back in id order gives every frame and node its id again.
  frame_sink_->restoring = true;
  for (const FrameRow& f : state.frames) {
    if (interner_.InternFrame(f.module_id, f.rel_pc) != f.id) {
      status->Update(absl::DataLossError(absl::StrCat(
          "cannot continue the trace: frame ids are not dense at frame ", f.id)));
      break;
    }
  }
  for (const StackNodeRow& n : state.stack_nodes) {
    if (interner_.InternChild(n.parent, n.frame) != n.id) {
      status->Update(absl::DataLossError(absl::StrCat(
          "cannot continue the trace: stack ids are not dense at stack ", n.id)));
      break;
    }
  }
  frame_sink_->restoring = false;
}

void Collector::RestoreModules(const ResumeState& state) {
  for (const ModuleRow& m : state.modules) {
    int64_t canonical = module_ids_by_path_.try_emplace(m.path, m.id).first->second;
    module_paths_[canonical] = m.path;
    module_rows_[{m.pid, m.lo}] = m.id;
    if (m.unloaded_seq) module_rows_.erase({m.pid, m.lo});
    next_module_row_ = std::max(next_module_row_, m.id + 1);
  }
}

absl::Status Collector::Resume(const ResumeState& state, const std::string& dir) {
  absl::Status status;
  RestoreInterner(state, &status);
  if (!status.ok()) return status;
  RestoreModules(state);
  for (const ThreadRow& t : state.threads) {
    ThreadState& ts = Thread(t.pid, t.tid);
    ts.row = t;
    ts.dirty = false;
  }
  absl::flat_hash_map<std::pair<int32_t, int32_t>, const ProcessRow*> processes;
  for (const ProcessRow& p : state.processes) processes[{p.pid, p.image}] = &p;
  for (size_t i = 0; i < state.files.size(); ++i) {
    const SpoolFileProgress& f = state.files[i];
    // Spelled as DiscoverFiles spells it, so the file is not followed twice.
    std::string path = (std::filesystem::path(dir) / f.file).string();
    absl::StatusOr<SpoolFileReader> reader = SpoolFileReader::Open(path);
    if (!reader.ok()) {
      return absl::NotFoundError(absl::StrCat("cannot continue the trace: ", path,
                                              " (committed up to byte ", f.committed_offset,
                                              ") is missing"));
    }
    reader->SkipTo(f.committed_offset);
    auto img = std::make_unique<ProcessImage>();
    img->path = path;
    img->reader = std::move(*reader);
    img->file_id = f.id;
    img->committed = f.committed_offset;
    img->first_module_row = f.first_module_row;
    img->started = true;
    img->terminated = f.terminated;
    img->pid = f.pid;
    auto p = processes.find({f.pid, f.image});
    if (p != processes.end()) img->row = *p->second;
    img->row.pid = f.pid;
    img->row.image = f.image;
    img->ref_tsc = f.ref_tsc;
    img->ref_mono_ns = f.ref_mono_ns;
    img->clock = TscClock(static_cast<double>(f.tsc_hz) / 1e9);
    // Its modules: the rows read from this file, which run from its first
    // module row up to the next image of the same pid (an exec).
    int64_t end_row = INT64_MAX;
    for (const SpoolFileProgress& g : state.files) {
      if (g.pid == f.pid && g.image > f.image) end_row = std::min(end_row, g.first_module_row);
    }
    for (const ModuleRow& m : state.modules) {
      if (m.pid != f.pid || m.id < f.first_module_row || m.id >= end_row) continue;
      img->modules.Load({.id = module_ids_by_path_.at(m.path), .bias = m.bias, .lo = m.lo,
                         .hi = m.hi});
      if (m.unloaded_seq) img->modules.Unload(m.lo);
    }
    for (const auto& [hash, stack] : state.stacks[i]) img->stacks_by_hash[hash] = stack;
    next_file_id_ = std::max(next_file_id_, f.id + 1);
    followed_files_.insert(path);
    images_.push_back(std::move(img));
    ++stats_.processes;
  }
  stats_.events = state.events;
  stats_.acquisitions = state.acquisitions;
  stats_.lost_events = state.lost_events;
  stats_.corrupt_chunks = state.corrupt_chunks;
  stats_.unknown_stacks = state.unknown_stacks;
  stacks_seen_.insert(state.event_stacks.begin(), state.event_stacks.end());
  stats_.distinct_stacks = static_cast<int64_t>(stacks_seen_.size());
  return absl::OkStatus();
}

absl::Status Collector::DiscoverFiles(const std::string& dir) {
  auto spool = SpoolDir::Open(dir);
  if (!spool.ok()) return spool.status();
  for (std::string& f : spool->SpoolFiles()) {
    if (followed_files_.contains(f)) continue;
    auto reader = SpoolFileReader::Open(f);
    if (!reader.ok()) return reader.status();
    auto img = std::make_unique<ProcessImage>();
    img->path = f;
    img->reader = std::move(*reader);
    img->clock = options_.clock;
    img->file_id = next_file_id_++;
    followed_files_.insert(f);
    images_.push_back(std::move(img));
    ++stats_.processes;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Collector::Poll() {
  int64_t chunks = 0;
  for (auto& img : images_) {
    // Bounded per file per poll so one busy process cannot starve the
    // others' readers (and the batch stays roughly in seq order).
    for (int i = 0; i < 256; ++i) {
      absl::StatusOr<std::optional<SpoolChunk>> chunk = img->reader.NextChunk();
      if (!chunk.ok()) {
        ++stats_.corrupt_chunks;
        stats_.problems.push_back(std::string(chunk.status().message()));
        break;
      }
      if (!chunk->has_value()) break;
      if (auto s = ConsumeChunk(*img, **chunk); !s.ok()) return s;
      ++chunks;
    }
  }
  if (auto s = FlushEvents(); !s.ok()) return s;
  if (options_.checkpoints) {
    uint64_t uncommitted = 0;
    for (const auto& img : images_) {
      if (img->started) uncommitted += img->reader.offset() - img->committed;
    }
    // An idle spool is the cheapest moment to commit: the target is not
    // waiting on us, and its disk is freed before it writes more. Bursts
    // wait for 16 MiB or 1 s, so a target that trickles events does not
    // cost a commit per chunk, and few blocks are live across a commit: a
    // commit inserts their rows before their release is known, which then
    // costs a late_frees row (docs/trace-format.md; with 1 MiB / 200 ms,
    // 83% of alloc_heavy's allocations went there, with these 6%).
    constexpr uint64_t kIdleCommitBytes = 16 << 20;
    constexpr int64_t kIdleCommitNs = 1'000'000'000;
    bool idle = chunks == 0 && uncommitted > 0 &&
                (uncommitted >= kIdleCommitBytes ||
                 MonotonicNowNs() - last_checkpoint_ns_ >= kIdleCommitNs);
    if (idle || (uncommitted > 0 && events_since_checkpoint_ >= options_.checkpoint_events)) {
      if (auto s = Checkpoint(); !s.ok()) return s;
    }
  }
  return chunks;
}

absl::Status Collector::Checkpoint() {
  if (auto s = FlushEvents(); !s.ok()) return s;
  // Every event read so far must be in this transaction, and nothing of a
  // later chunk: the pipe is idle until the next Push.
  if (auto s = event_pipe_->Wait(); !s.ok()) return s;
  std::lock_guard<std::mutex> l(writer_mu_);
  absl::Status st;
  for (auto& img : images_) {
    if (!img->started || img->reader.offset() == img->committed) continue;
    st.Update(writer_->PutProcess(img->row));
    st.Update(WriteSpoolFileProgress(
        *writer_, {.id = img->file_id,
                   .file = std::filesystem::path(img->path).filename().string(),
                   .pid = img->pid,
                   .image = img->row.image,
                   .committed_offset = img->reader.offset(),
                   .ref_tsc = img->ref_tsc,
                   .ref_mono_ns = img->ref_mono_ns,
                   .tsc_hz = std::llround(img->clock.ticks_per_ns() * 1e9),
                   .first_module_row = img->first_module_row,
                   .terminated = img->terminated}));
  }
  for (auto& [key, t] : threads_) {
    if (!t->dirty) continue;
    st.Update(writer_->PutThread(t->row));
    t->dirty = false;
  }
  // Counters a resumed import cannot recount from the events.
  st.Update(writer_->SetMetaInt("lost_events", stats_.lost_events));
  st.Update(writer_->SetMetaInt("corrupt_chunks", stats_.corrupt_chunks));
  st.Update(writer_->SetMetaInt("unknown_stacks", stats_.unknown_stacks));
  if (!st.ok()) return st;
  if (auto s = writer_->Flush(); !s.ok()) return s;
  ++stats_.checkpoints;
  events_since_checkpoint_ = 0;
  last_checkpoint_ns_ = MonotonicNowNs();
  for (auto& img : images_) {
    if (!img->started) continue;
    img->committed = img->reader.offset();
    if (!punching_) continue;
    absl::StatusOr<uint64_t> freed = PunchSpoolPrefix(img->path, img->freed, img->committed);
    if (!freed.ok()) {
      // Disk is only not reclaimed: the trace is as good. Say why, once.
      punching_ = false;
      stats_.problems.push_back(std::string(freed.status().message()));
      continue;
    }
    stats_.spool_bytes_freed += static_cast<int64_t>(*freed - img->freed);
    img->freed = *freed;
  }
  return absl::OkStatus();
}

absl::Status Collector::Drain() {
  while (true) {
    absl::StatusOr<int64_t> n = Poll();
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  for (auto& img : images_) {
    if (auto tail = img->reader.IncompleteTail(); !tail.ok()) {
      ++stats_.corrupt_chunks;
      stats_.problems.push_back(std::string(tail.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Collector::ConsumeChunk(ProcessImage& p, const SpoolChunk& chunk) {
  const uint32_t tid = chunk.header.tid;
  for (const SpoolRecord& r : chunk.records()) {
    switch (r.type()) {
      case spool::RecordType::kProcess:
        if (auto s = OnProcess(p, r); !s.ok()) return s;
        break;
      case spool::RecordType::kModule:
        OnModule(p, r);
        break;
      case spool::RecordType::kStack:
        if (auto s = OnStack(p, r); !s.ok()) return s;
        break;
      case spool::RecordType::kEvent:
        if (auto s = OnEvent(p, tid, r.event()); !s.ok()) return s;
        break;
      case spool::RecordType::kThread:
        OnThread(p, tid, r.thread());
        break;
      case spool::RecordType::kLost:
        stats_.lost_events += r.lost().count;
        break;
    }
  }
  return frame_sink_->TakeStatus();
}

absl::Status Collector::OnProcess(ProcessImage& p, const SpoolRecord& r) {
  const spool::ProcessRecord& pr = r.process();
  p.started = true;
  p.pid = static_cast<int32_t>(r.chunk_pid());
  p.first_module_row = next_module_row_;
  p.ref_tsc = pr.tsc;
  p.ref_mono_ns = static_cast<int64_t>(pr.mono_ns);
  if (pr.tsc_hz != 0) p.clock = TscClock(static_cast<double>(pr.tsc_hz) / 1e9);
  ProcessStrings strings = r.process_strings();
  p.row.pid = p.pid;
  p.row.image = static_cast<int32_t>(pr.image);
  p.row.ppid = static_cast<int32_t>(pr.ppid);
  p.row.exe = strings.exe;
  p.row.cwd = strings.cwd;
  p.row.argv = strings.argv;
  p.row.started_ns = static_cast<int64_t>(pr.mono_ns) - options_.start_mono_ns;
  // A forked child inherits its parent's address space: until its own
  // module records arrive, resolve its pcs against the parent's map.
  if (p.modules.size() == 0) {
    for (auto it = images_.rbegin(); it != images_.rend(); ++it) {
      if ((*it)->pid == static_cast<int32_t>(pr.ppid) && (*it)->started) {
        p.modules = (*it)->modules;
        break;
      }
    }
  }
  std::lock_guard<std::mutex> l(writer_mu_);
  return writer_->PutProcess(p.row);
}

int64_t Collector::CanonicalModuleId(const std::string& path) {
  auto [it, inserted] = module_ids_by_path_.try_emplace(path, 0);
  if (inserted) it->second = next_module_row_;  // the first row of this path
  return it->second;
}

void Collector::OnModule(ProcessImage& p, const SpoolRecord& r) {
  const spool::ModuleRecord& m = r.module();
  std::string path(r.module_path().data(), r.module_path().size());
  if (m.flags & spool::ModuleRecord::kUnloaded) {
    p.modules.Unload(m.lo);
    auto it = module_rows_.find({p.pid, m.lo});
    if (it != module_rows_.end()) {
      ModuleRow row{.id = it->second, .pid = p.pid, .path = path, .bias = m.bias, .lo = m.lo,
                    .hi = m.hi, .unloaded_seq = static_cast<int64_t>(m.seq)};
      std::lock_guard<std::mutex> l(writer_mu_);
      frame_sink_->Note(writer_->PutModule(row));
      module_rows_.erase(it);
    }
    return;
  }
  int64_t canonical = CanonicalModuleId(path);
  int64_t row_id = next_module_row_++;
  ModuleRow row{.id = row_id, .pid = p.pid, .path = path, .bias = m.bias, .lo = m.lo, .hi = m.hi,
                .loaded_seq = static_cast<int64_t>(m.seq)};
  module_paths_[canonical] = path;
  // Frames name the canonical module (the first row of the path), so one
  // library mapped into many processes gets its frames symbolized once.
  p.modules.Load({.id = canonical, .bias = m.bias, .lo = m.lo, .hi = m.hi});
  module_rows_[{p.pid, m.lo}] = row_id;
  std::lock_guard<std::mutex> l(writer_mu_);
  frame_sink_->Note(writer_->PutModule(row));
}

absl::Status Collector::OnStack(ProcessImage& p, const SpoolRecord& r) {
  const spool::StackRecord& sr = r.stack();
  if (p.stacks_by_hash.contains(sr.hash)) return absl::OkStatus();  // defined by another thread
  scratch_frames_.clear();
  for (uint64_t pc : r.stack_pcs()) {
    ResolvedPc rp = p.modules.Resolve(pc);
    scratch_frames_.push_back(interner_.InternFrame(rp.module_id, rp.rel_pc));
  }
  StackId id = interner_.InternStack(scratch_frames_);
  p.stacks_by_hash[sr.hash] = id;
  if (!options_.checkpoints) return absl::OkStatus();
  std::lock_guard<std::mutex> l(writer_mu_);
  return WriteSpoolStack(*writer_, p.file_id, sr.hash, id);
}

Collector::ThreadState& Collector::Thread(int32_t pid, int32_t tid) {
  auto [it, inserted] = threads_.try_emplace({pid, tid}, nullptr);
  if (inserted) {
    it->second = std::make_unique<ThreadState>();
    it->second->row.pid = pid;
    it->second->row.tid = tid;
    ++stats_.threads;
  }
  return *it->second;
}

absl::Status Collector::OnEvent(ProcessImage& p, uint32_t tid, const spool::EventRecord& e) {
  if (!IsKnownOp(e.h.op)) {
    ++stats_.corrupt_chunks;
    stats_.problems.push_back(absl::StrCat(p.path, ": event ", e.seq, " has unknown op code ",
                                           e.h.op, "; skipped"));
    return absl::OkStatus();
  }
  EventRow row;
  row.seq = static_cast<int64_t>(e.seq);
  row.ts_ns = p.clock.ToMonotonicNs(e.tsc, p.ref_tsc, p.ref_mono_ns) - options_.start_mono_ns;
  row.pid = p.pid;
  row.tid = static_cast<int32_t>(tid);
  row.op = static_cast<Op>(e.h.op);
  row.addr = e.addr;
  row.size = e.size;
  row.arg = e.arg;
  row.sp_depth = e.sp_depth;
  if (e.stack != 0) {
    auto it = p.stacks_by_hash.find(e.stack);
    if (it != p.stacks_by_hash.end()) {
      row.stack = it->second;
      if (stacks_seen_.insert(row.stack).second) ++stats_.distinct_stacks;
    } else {
      ++stats_.unknown_stacks;
    }
  }
  if (StackId path = call_paths_.OnEvent(p.modules, row); path != 0) row.stack = path;
  if (IsAcquisition(row.op) && IsHeapOp(row.op)) ++stats_.acquisitions;
  ++stats_.events;
  ++events_since_checkpoint_;

  if (!p.row.started_seq || row.seq < *p.row.started_seq) p.row.started_seq = row.seq;
  if (!p.row.ended_seq || row.seq > *p.row.ended_seq) {
    p.row.ended_seq = row.seq;
    p.row.ended_ns = row.ts_ns;
  }
  if (row.op == Op::kProcessExit) {
    p.row.exit_status = static_cast<int32_t>(e.arg);
    p.terminated = true;
  }
  if (row.op == Op::kExec || row.op == Op::kUntracedExec) p.terminated = true;
  ThreadState& t = Thread(row.pid, row.tid);
  if (row.op == Op::kThreadStart || !t.row.started_seq) {
    if (!t.row.started_seq || row.seq < *t.row.started_seq) t.row.started_seq = row.seq;
    t.dirty = true;
  }
  if (row.op == Op::kThreadExit) {
    t.row.ended_seq = row.seq;
    t.dirty = true;
  }
  pending_.push_back(row);
  return absl::OkStatus();
}

void Collector::OnThread(ProcessImage& p, uint32_t tid, const spool::ThreadRecord& tr) {
  ThreadState& t = Thread(p.pid, static_cast<int32_t>(tid));
  if (tr.name[0] != 0) t.row.name = std::string(tr.name, strnlen(tr.name, sizeof tr.name));
  t.row.creator_tid = static_cast<int32_t>(tr.creator_tid);
  if (tr.stack_hi != 0) {
    t.row.stack_lo = tr.stack_lo;
    t.row.stack_hi = tr.stack_hi;
  }
  t.dirty = true;
}

absl::Status Collector::FlushEvents() {
  if (pending_.empty()) return absl::OkStatus();
  const auto by_seq = [](const EventRow& a, const EventRow& b) { return a.seq < b.seq; };
  // One traced thread's events come in seq order: a linear check spares
  // the sort (introsort still compares n log n times on sorted input).
  if (!std::is_sorted(pending_.begin(), pending_.end(), by_seq)) {
    std::sort(pending_.begin(), pending_.end(), by_seq);
  }
  // In slices: the pipe's queue then holds at most kMaxQueued slices of
  // staged rows, whatever a poll read.
  constexpr size_t kSlice = size_t{1} << 16;
  absl::Status s;
  for (size_t i = 0; i < pending_.size() && s.ok(); i += kSlice) {
    s = event_pipe_->Push(absl::Span<const EventRow>(pending_).subspan(i, kSlice));
  }
  pending_.clear();
  return s;
}

void Collector::SetRootExit(int32_t pid, std::optional<int32_t> status,
                            std::optional<int32_t> signal) {
  root_pid_ = pid;
  root_status_ = status;
  root_signal_ = signal;
}

absl::Status Collector::WriteMetadata() {
  if (auto s = FlushEvents(); !s.ok()) return s;
  // From here on the writer is used by this thread only.
  if (auto s = event_pipe_->Wait(); !s.ok()) return s;
  // The root's last image is what waitpid reported on.
  ProcessImage* root = nullptr;
  for (auto& img : images_) {
    if (img->started && img->pid == root_pid_ &&
        (!root || img->row.image > root->row.image)) {
      root = img.get();
    }
  }
  if (root) {
    if (root_status_) root->row.exit_status = root_status_;
    if (root_signal_) {
      root->row.exit_signal = root_signal_;
      root->row.exit_status.reset();
    }
  }
  stats_.unterminated_processes = 0;
  for (auto& img : images_) {
    if (!img->started) continue;
    if (!img->terminated) ++stats_.unterminated_processes;
    if (auto s = writer_->PutProcess(img->row); !s.ok()) return s;
  }
  for (auto& [key, t] : threads_) {
    if (!t->dirty) continue;
    if (auto s = writer_->PutThread(t->row); !s.ok()) return s;
    t->dirty = false;
  }
  return absl::OkStatus();
}

const absl::flat_hash_map<int64_t, std::vector<FrameToSymbolize>>& Collector::frames_by_module()
    const {
  return frame_sink_->frames_by_module;
}

}  // namespace atr
