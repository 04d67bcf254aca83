// Reading a recorded trace in end-to-end tests: open it, run SQL on it.
// Failures are test failures (EXPECT), so a test reads on:
//
//   TraceReader reader = OpenTrace(dir.File("t.db"));
//   EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM events WHERE op = 1"), 300);
#ifndef ATR_TESTS_E2E_TRACE_QUERY_H_
#define ATR_TESTS_E2E_TRACE_QUERY_H_

#include <cstdint>
#include <string>

#include "db/trace_reader.h"

namespace atr::testing {

// The trace at `path`. One that cannot be opened fails the test with its
// status and then ends the test binary (there is no reader to return).
TraceReader OpenTrace(const std::string& path);

// The first column of the first row of `sql`, or -1 (and a test failure if
// the query failed) when there is no row.
int64_t QueryInt(TraceReader& reader, const std::string& sql);

}  // namespace atr::testing

#endif  // ATR_TESTS_E2E_TRACE_QUERY_H_
