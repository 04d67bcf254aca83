// SharedTraceWriter: the collector's TraceWriter and the lock that hands its
// SQLite connection to one thread at a time. Two threads use it: the
// collector's own (frames, stack nodes, modules, processes, checkpoints,
// the final metadata) and the event pipe's insert thread
// (InsertStagedEvents).
//
// Every call through `writer` holds `mu`, with one exception the
// TraceWriter contract allows: StageEvents, made only by the collector's
// thread, may overlap InsertStagedEvents, and so runs unlocked
// (EventPipe::Push).
//
//   SharedTraceWriter shared(writer);
//   {
//     absl::MutexLock l(&shared.mu);
//     status.Update(shared.writer->PutProcess(row));
//   }
#ifndef ATR_RECORDER_COLLECTOR_SHARED_TRACE_WRITER_H_
#define ATR_RECORDER_COLLECTOR_SHARED_TRACE_WRITER_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "db/trace_writer.h"

namespace atr {

struct SharedTraceWriter {
  explicit SharedTraceWriter(TraceWriter* w) : writer(w) {}

  absl::Mutex mu;
  TraceWriter* const writer ABSL_PT_GUARDED_BY(mu);  // not owned
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_SHARED_TRACE_WRITER_H_
