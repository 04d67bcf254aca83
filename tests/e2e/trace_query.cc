#include "tests/e2e/trace_query.h"

#include <utility>

#include <gtest/gtest.h>

#include "db/query.h"

namespace atr::testing {

TraceReader OpenTrace(const std::string& path) {
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(*r);
}

int64_t QueryInt(TraceReader& reader, const std::string& sql) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(reader, sql);
  EXPECT_TRUE(q.ok()) << q.status() << "\n" << sql;
  if (!q.ok() || !q->Next()) return -1;
  return q->Int(0);
}

}  // namespace atr::testing
