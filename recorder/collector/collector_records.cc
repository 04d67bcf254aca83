// What each spool record does to the collector and the trace: a process
// record starts a process image, module records load and unload modules,
// stack records define this image's stack hashes (interned into the
// trie), events become rows waiting in pending_, thread records name
// threads.
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "recorder/collector/collector.h"
#include "recorder/collector/process_image.h"

namespace atr {

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
  absl::MutexLock l(&writer_.mu);
  return writer_.writer->PutProcess(p.row);
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
      absl::MutexLock l(&writer_.mu);
      frame_sink_->Note(writer_.writer->PutModule(row));
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
  absl::MutexLock l(&writer_.mu);
  frame_sink_->Note(writer_.writer->PutModule(row));
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
  absl::MutexLock l(&writer_.mu);
  return WriteSpoolStack(*writer_.writer, p.file_id, sr.hash, id);
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

}  // namespace atr
