// The collector's main loop: following spool files (DiscoverFiles, Poll,
// Drain), handing the decoded events to the event pipe in seq order, and
// the final metadata. Records are decoded in collector_records.cc,
// checkpoints and resuming are in collector_checkpoint.cc.
#include "recorder/collector/collector.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recorder/collector/event_pipe.h"
#include "recorder/collector/process_image.h"
#include "recorder/collector/spool_dir.h"

namespace atr {

Collector::Collector(TraceWriter* writer, CollectorOptions options)
    : writer_(writer),
      options_(options),
      frame_sink_(std::make_unique<FrameSink>(&writer_)),
      interner_(frame_sink_.get()),
      event_pipe_(std::make_unique<EventPipe>(&writer_)) {}

Collector::~Collector() = default;

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
  // From here on the writer is used by this thread only (the lock below is
  // uncontended).
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
  absl::MutexLock l(&writer_.mu);
  for (auto& img : images_) {
    if (!img->started) continue;
    if (!img->terminated) ++stats_.unterminated_processes;
    if (auto s = writer_.writer->PutProcess(img->row); !s.ok()) return s;
  }
  for (auto& [key, t] : threads_) {
    if (!t->dirty) continue;
    if (auto s = writer_.writer->PutThread(t->row); !s.ok()) return s;
    t->dirty = false;
  }
  return absl::OkStatus();
}

const absl::flat_hash_map<int64_t, std::vector<FrameToSymbolize>>& Collector::frames_by_module()
    const {
  return frame_sink_->frames_by_module;
}

}  // namespace atr
