// Collector: turns spool chunks into trace rows, while the target runs.
//
// Fed chunk by chunk (from live spool files by `atr record`, or from files
// left on disk by `atr import`), it decodes records, resolves stack pcs to
// (module, ELF address) frames, interns stacks into the trie, converts TSC
// readings to nanoseconds since the trace's start, and writes rows through a
// TraceWriter in batches sorted by seq. Its memory is bounded by distinct
// stacks, modules and threads, never by the number of events.
//
//   Collector c(writer.get(), {.start_mono_ns = now});
//   for each spool file f: c.AddFile(f.path)
//   while (target runs) c.Poll();      // reads what is complete so far
//   c.Drain(/*final=*/true);           // truncated tails become errors in stats
//   c.WriteMetadata();                 // processes, threads, meta counters
//
// With checkpoints on, the trace is committed only at checkpoints, each
// with spool_progress rows saying how far every spool file is in it, and
// the committed prefix of every file is then punched out of the spool, so
// the spool's disk use stays bounded by the uncommitted part
// (spool_progress.h). Resume() continues such a trace after its collector
// died.
//
// Not thread-safe: one collector per trace, driven by one thread. Inside,
// event rows are inserted by a second thread (SQLite's inserts and the
// decoding overlap on two cores); every call that returns leaves nothing of
// it running except event inserts, and WriteMetadata() waits for those, so
// the writer is the caller's again once WriteMetadata() returns.
#ifndef ATR_RECORDER_COLLECTOR_COLLECTOR_H_
#define ATR_RECORDER_COLLECTOR_COLLECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/trace_writer.h"
#include "recorder/collector/call_paths.h"
#include "recorder/collector/frame_sink.h"
#include "recorder/collector/module_map.h"
#include "recorder/collector/shared_trace_writer.h"
#include "recorder/collector/spool_progress.h"
#include "recorder/collector/stack_interner.h"
#include "recorder/collector/tsc_clock.h"
#include "recorder/spool_reader.h"

namespace atr {

struct CollectorOptions {
  int64_t start_mono_ns = 0;  // CLOCK_MONOTONIC at the trace's start (ts_ns = 0)
  TscClock clock;             // converts rdtsc readings to CLOCK_MONOTONIC ns
  // Commit at checkpoints (every checkpoint_events events, and when a Poll
  // finds nothing new after 16 MiB or 1 s) with spool_progress rows, then free the spool
  // files' committed prefixes. REQUIRES: the writer has
  // commit_on_flush_only and StartSpoolProgress ran on it.
  bool checkpoints = false;
  int64_t checkpoint_events = 1 << 20;
};

struct CollectorStats {
  int64_t events = 0;             // events written
  int64_t acquisitions = 0;       // heap acquisition events (malloc, new, ...)
  int64_t distinct_stacks = 0;    // distinct stack ids named by events
  int64_t lost_events = 0;        // counted by the preload library (LostRecord)
  int64_t processes = 0;          // process images seen (spool files)
  int64_t threads = 0;            // (pid, tid) pairs seen
  int64_t corrupt_chunks = 0;     // chunks or tails that could not be decoded
  int64_t unknown_stacks = 0;     // events naming a stack hash never defined
  int64_t unterminated_processes = 0;  // images with no exit/exec event (killed)
  int64_t checkpoints = 0;        // commits made by Poll/Drain (checkpoints on)
  int64_t spool_bytes_freed = 0;  // spool bytes punched out after their commit
  std::vector<std::string> problems;  // one line each, for the user
};

class EventPipe;
struct ProcessImage;

class Collector {
 public:
  Collector(TraceWriter* writer, CollectorOptions options);
  ~Collector();

  // Continues a trace an earlier collector checkpointed (its writer opened
  // with OpenUnfinished): state from ReadResumeState, spool files in `dir`
  // followed from their committed offsets. REQUIRES: the first call.
  absl::Status Resume(const ResumeState& state, const std::string& dir);
  // Starts following every "*.spool" file in `dir` not yet followed.
  absl::Status DiscoverFiles(const std::string& dir);
  // Reads every complete chunk available now from all files and writes the
  // events. Returns the number of chunks consumed (0: nothing new).
  absl::StatusOr<int64_t> Poll() ABSL_LOCKS_EXCLUDED(writer_.mu);
  // Like Poll, then treats incomplete tails as truncated (the writer is
  // gone): they are reported in stats().problems, never silently dropped.
  absl::Status Drain() ABSL_LOCKS_EXCLUDED(writer_.mu);
  // Records the exit of the root process as seen by waitpid.
  void SetRootExit(int32_t pid, std::optional<int32_t> status, std::optional<int32_t> signal);
  // Writes processes, threads and collector counters. Call once, at the end.
  absl::Status WriteMetadata() ABSL_LOCKS_EXCLUDED(writer_.mu);

  const CollectorStats& stats() const { return stats_; }
  // Frames by (canonical) module id, and the module's path.
  const absl::flat_hash_map<int64_t, std::vector<FrameToSymbolize>>& frames_by_module() const;
  const std::string& module_path(int64_t module_id) const { return module_paths_.at(module_id); }

 private:
  struct ThreadState {
    ThreadRow row;
    bool dirty = true;  // changed since the trace last got it
  };

  // collector_records.cc: what each spool record does. They take the
  // writer's lock for their writes (OnEvent through the interner's sink).
  absl::Status ConsumeChunk(ProcessImage& p, const SpoolChunk& chunk)
      ABSL_LOCKS_EXCLUDED(writer_.mu);
  absl::Status OnProcess(ProcessImage& p, const SpoolRecord& r) ABSL_LOCKS_EXCLUDED(writer_.mu);
  void OnModule(ProcessImage& p, const SpoolRecord& r) ABSL_LOCKS_EXCLUDED(writer_.mu);
  absl::Status OnStack(ProcessImage& p, const SpoolRecord& r) ABSL_LOCKS_EXCLUDED(writer_.mu);
  absl::Status OnEvent(ProcessImage& p, uint32_t tid, const spool::EventRecord& e)
      ABSL_LOCKS_EXCLUDED(writer_.mu);
  void OnThread(ProcessImage& p, uint32_t tid, const spool::ThreadRecord& t);
  absl::Status FlushEvents();
  // collector_checkpoint.cc: commits everything read so far with its
  // spool_progress rows, then frees the committed spool prefixes.
  absl::Status Checkpoint() ABSL_LOCKS_EXCLUDED(writer_.mu);
  void RestoreInterner(const ResumeState& state, absl::Status* status);
  void RestoreModules(const ResumeState& state);
  ThreadState& Thread(int32_t pid, int32_t tid);
  int64_t CanonicalModuleId(const std::string& path);

  // Its lock is held around every writer call: the event pipe's thread
  // inserts events through the same (single-threaded) SQLite connection.
  SharedTraceWriter writer_;
  CollectorOptions options_;
  CollectorStats stats_;
  std::unique_ptr<FrameSink> frame_sink_;
  StackInterner interner_;
  CallPaths call_paths_{&interner_};  // func_enter/exit stacks (--stack-ops)
  std::vector<std::unique_ptr<ProcessImage>> images_;
  absl::flat_hash_set<std::string> followed_files_;
  absl::flat_hash_map<std::string, int64_t> module_ids_by_path_;
  int64_t next_module_row_ = 1;
  absl::flat_hash_map<int64_t, std::string> module_paths_;  // canonical id -> path
  // modules row of each loaded (pid, lo), to record its unloading.
  absl::flat_hash_map<std::pair<int32_t, uint64_t>, int64_t> module_rows_;
  absl::flat_hash_map<std::pair<int32_t, int32_t>, std::unique_ptr<ThreadState>> threads_;
  absl::flat_hash_set<StackId> stacks_seen_;
  std::vector<EventRow> pending_;  // decoded events not yet written, any order
  std::unique_ptr<EventPipe> event_pipe_;  // declared last: its thread stops first
  std::vector<FrameId> scratch_frames_;
  int64_t next_file_id_ = 1;              // spool_progress.id of the next file
  int64_t events_since_checkpoint_ = 0;
  int64_t last_checkpoint_ns_ = 0;        // CLOCK_MONOTONIC
  bool punching_ = true;                  // false once the filesystem refused
  int32_t root_pid_ = 0;
  std::optional<int32_t> root_status_, root_signal_;
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_COLLECTOR_H_
