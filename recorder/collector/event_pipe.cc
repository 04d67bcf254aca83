#include "recorder/collector/event_pipe.h"

#include <utility>

namespace atr {

namespace {

// TraceWriter lets StageEvents overlap InsertStagedEvents, the one call the
// pipe's thread makes, and the collector's thread (the caller) makes every
// other call itself. So staging takes no lock: holding it would make the
// decoding wait for SQLite, and the two halves would no longer overlap.
absl::Status StageWithoutLock(SharedTraceWriter& w, absl::Span<const EventRow> batch,
                              StagedEventRows* rows) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return w.writer->StageEvents(batch, rows);
}

}  // namespace

EventPipe::EventPipe(SharedTraceWriter* writer) : writer_(writer), thread_([this] { Run(); }) {}

EventPipe::~EventPipe() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  thread_.join();
}

absl::Status EventPipe::Push(absl::Span<const EventRow> batch) {
  StagedEventRows rows = TakeSpare();
  if (auto s = StageWithoutLock(*writer_, batch, &rows); !s.ok()) return s;
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(this, &EventPipe::HasRoomOrFailed));
  if (!status_.ok()) return status_;
  queue_.push_back(std::move(rows));
  return absl::OkStatus();
}

absl::Status EventPipe::Wait() {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(this, &EventPipe::IdleOrFailed));
  return status_;
}

StagedEventRows EventPipe::TakeSpare() {
  absl::MutexLock l(&mu_);
  return std::move(spare_);
}

void EventPipe::Run() {
  while (true) {
    StagedEventRows batch;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(this, &EventPipe::HasWorkOrStopping));
      if (queue_.empty()) return;  // stop_ and nothing left
      batch = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    absl::Status s;
    {
      absl::MutexLock w(&writer_->mu);
      s = writer_->writer->InsertStagedEvents(&batch);
    }
    absl::MutexLock l(&mu_);
    busy_ = false;
    spare_ = std::move(batch);
    if (!s.ok() && status_.ok()) status_ = s;
  }
}

}  // namespace atr
