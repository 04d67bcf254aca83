// Status plumbing for every layer above the preload hooks: return early on
// an error, or unwrap a StatusOr into a variable.
//
//   absl::StatusOr<Report> Build(TraceReader& reader) {
//     ATR_RETURN_IF_ERROR(CheckSchema(reader));
//     ATR_ASSIGN_OR_RETURN(int64_t peak, QueryScalar(reader, "SELECT max(seq) FROM events"));
//     ATR_ASSIGN_OR_RETURN(auto q, QueryCursor::Run(reader, sql));  // declares q
//     ...
//   }
//
// ATR_ASSIGN_OR_RETURN expands to several statements (a hidden StatusOr
// named after the line, then the assignment): write it on its own line,
// never as the body of an unbraced if/for, and at most once per line.
// Kept local because the Abseil of Debian 12 has no public equivalent.
#ifndef ATR_BASE_STATUS_MACROS_H_
#define ATR_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ATR_STATUS_CONCAT_INNER(a, b) a##b
#define ATR_STATUS_CONCAT(a, b) ATR_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) once; returns it when not OK.
#define ATR_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status atr_status_ = (expr);       \
    if (!atr_status_.ok()) return atr_status_; \
  } while (0)

// Evaluates `expr` (an absl::StatusOr<T>) once; returns its status when not
// OK, else moves the value into `lhs` ("T name" declares it).
#define ATR_ASSIGN_OR_RETURN(lhs, expr) \
  ATR_ASSIGN_OR_RETURN_IMPL(ATR_STATUS_CONCAT(atr_statusor_, __LINE__), lhs, expr)
#define ATR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)

#endif  // ATR_BASE_STATUS_MACROS_H_
