// EventPipe: inserts batches of event rows (sorted by seq) on a thread of
// its own, so SQLite's b-tree work overlaps the decoding of the next batch.
//
// Push stages a batch on the caller's thread (TraceWriter::StageEvents:
// thread ids and the allocation pass, the other half of the work) and
// queues the rows; the pipe's thread inserts them (InsertStagedEvents)
// holding the shared writer's lock. At most kMaxQueued batches wait, so
// the collector's memory stays bounded when SQLite is the slower side
// (Push blocks). The first error stops the inserts and is returned by every
// later Push/Wait.
//
// Thread-safety: Push and Wait are for one thread, the collector's, which
// makes every other call on the writer too (holding its lock); the
// destructor inserts what is queued, then joins the thread.
//
//   EventPipe pipe(&shared_writer);
//   ATR_RETURN_IF_ERROR(pipe.Push(sorted_rows));
//   ATR_RETURN_IF_ERROR(pipe.Wait());  // every pushed row is in the trace
#ifndef ATR_RECORDER_COLLECTOR_EVENT_PIPE_H_
#define ATR_RECORDER_COLLECTOR_EVENT_PIPE_H_

#include <cstddef>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "db/trace_rows.h"
#include "db/trace_writer.h"
#include "recorder/collector/shared_trace_writer.h"

namespace atr {

class EventPipe {
 public:
  explicit EventPipe(SharedTraceWriter* writer);
  EventPipe(const EventPipe&) = delete;
  EventPipe& operator=(const EventPipe&) = delete;
  ~EventPipe() ABSL_LOCKS_EXCLUDED(mu_);

  // Stages `batch` and queues it for insertion, waiting while kMaxQueued
  // batches wait already.
  // REQUIRES: no other writer call runs meanwhile on the caller's side.
  absl::Status Push(absl::Span<const EventRow> batch) ABSL_LOCKS_EXCLUDED(mu_);

  // Returns once every pushed batch is inserted (or failed).
  absl::Status Wait() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr size_t kMaxQueued = 2;

  // The insert thread's loop.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Emptied rows with their capacity, for the next batch.
  StagedEventRows TakeSpare() ABSL_LOCKS_EXCLUDED(mu_);

  // Conditions of mu_.Await.
  bool HasRoomOrFailed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < kMaxQueued || !status_.ok();
  }
  bool IdleOrFailed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (queue_.empty() && !busy_) || !status_.ok();
  }
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || !queue_.empty();
  }

  SharedTraceWriter* const writer_;
  absl::Mutex mu_;
  std::deque<StagedEventRows> queue_ ABSL_GUARDED_BY(mu_);  // staged, not inserted
  StagedEventRows spare_ ABSL_GUARDED_BY(mu_);  // the last inserted batch, emptied
  bool busy_ ABSL_GUARDED_BY(mu_) = false;      // Run() is inserting a batch
  bool stop_ ABSL_GUARDED_BY(mu_) = false;      // the destructor runs
  absl::Status status_ ABSL_GUARDED_BY(mu_);    // the first insert error
  std::thread thread_;  // last: starts after the fields it uses
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_EVENT_PIPE_H_
