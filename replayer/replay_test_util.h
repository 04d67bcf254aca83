// Helpers for replayer tests: write a small trace from a list of events and
// open it, so each test states its exact expectations.
//
//   TraceBuilder t;
//   int64_t a = t.Add(1, Op::kMalloc, 0x1000, 24);
//   t.Add(1, Op::kFree, 0x1000);
//   TraceReader reader = t.Open();
#ifndef ATR_REPLAYER_REPLAY_TEST_UTIL_H_
#define ATR_REPLAYER_REPLAY_TEST_UTIL_H_

#include <unistd.h>

#include <string>
#include <vector>

#include "db/db_test_util.h"
#include "db/trace_reader.h"
#include "db/trace_writer.h"
#include "gtest/gtest.h"

namespace atr::testing {

class TraceBuilder {
 public:
  static constexpr int32_t kPid = 100;
  explicit TraceBuilder(std::string name = "t.db") : path_(FreshPath(name)) {}

  // Appends an event on thread `tid` (pid kPid); returns its seq.
  int64_t Add(int32_t tid, Op op, uint64_t addr = 0, uint64_t size = 0, uint64_t arg = 0,
              StackId stack = 0, int32_t pid = kPid) {
    EventRow e;
    e.seq = static_cast<int64_t>(events_.size()) + 1;
    e.ts_ns = e.seq * 1000;
    e.pid = pid;
    e.tid = tid;
    e.op = op;
    e.addr = addr;
    e.size = size;
    e.arg = arg;
    e.stack = stack;
    events_.push_back(e);
    return e.seq;
  }

  // Writes the trace (finished unless `finish` is false) and opens it.
  TraceReader Open(bool finish = true) {
    auto w = TraceWriter::Create(path_);
    EXPECT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE((*w)->PutProcess({.pid = kPid, .started_seq = 1}).ok());
    for (const EventRow& e : events_) EXPECT_TRUE((*w)->AddEvent(e).ok());
    if (finish) {
      EXPECT_TRUE((*w)->Finish().ok());
    } else {
      EXPECT_TRUE((*w)->Flush().ok());
      w->reset();
    }
    auto r = TraceReader::Open(path_);
    EXPECT_TRUE(r.ok()) << r.status();
    return *std::move(r);
  }

  const std::string& path() const { return path_; }
  std::vector<EventRow>& events() { return events_; }

 private:
  std::string path_;
  std::vector<EventRow> events_;
};

}  // namespace atr::testing

#endif  // ATR_REPLAYER_REPLAY_TEST_UTIL_H_
