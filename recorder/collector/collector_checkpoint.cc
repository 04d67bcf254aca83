// Collector checkpoints and their other half, resuming: Checkpoint commits
// everything read so far with each spool file's progress (spool_progress)
// and frees the committed prefixes of the spool files; Resume rebuilds the
// collector's state from such a commit (ReadResumeState) and follows the
// files on from their committed offsets.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "recorder/collector/collector.h"
#include "recorder/collector/event_pipe.h"
#include "recorder/collector/process_image.h"
#include "recorder/collector/spool_dir.h"

namespace atr {

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

absl::Status Collector::Checkpoint() {
  if (auto s = FlushEvents(); !s.ok()) return s;
  // Every event read so far must be in this transaction, and nothing of a
  // later chunk: the pipe is idle until the next Push.
  if (auto s = event_pipe_->Wait(); !s.ok()) return s;
  absl::MutexLock l(&writer_.mu);
  absl::Status st;
  for (auto& img : images_) {
    if (!img->started || img->reader.offset() == img->committed) continue;
    st.Update(writer_.writer->PutProcess(img->row));
    st.Update(WriteSpoolFileProgress(
        *writer_.writer, {.id = img->file_id,
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
    st.Update(writer_.writer->PutThread(t->row));
    t->dirty = false;
  }
  // Counters a resumed import cannot recount from the events.
  st.Update(writer_.writer->SetMetaInt("lost_events", stats_.lost_events));
  st.Update(writer_.writer->SetMetaInt("corrupt_chunks", stats_.corrupt_chunks));
  st.Update(writer_.writer->SetMetaInt("unknown_stacks", stats_.unknown_stacks));
  if (!st.ok()) return st;
  if (auto s = writer_.writer->Flush(); !s.ok()) return s;
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

}  // namespace atr
