// QueryCursor: runs one read-only SQL statement on an open trace and
// streams its rows. For reports that are a query (docs/queries.md gives
// each report's SQL) and for any other read-only SQL on a trace.
//
// Contract:
//   - The reader's connection is query-only: statements that would write
//     fail with a clear error rather than change the trace.
//   - Column indexes are 0-based. Int() of NULL or of a non-numeric text is
//     0, Text() of NULL is "" (use IsNull to tell them apart).
//   - REQUIRES: the reader outlives the cursor. Not thread-safe.
//
//   ATR_ASSIGN_OR_RETURN(atr::QueryCursor q, atr::QueryCursor::Run(reader,
//       "SELECT alloc_stack, count(*), sum(size) FROM allocations "
//       "WHERE free_seq IS NULL AND size >= ?1 GROUP BY 1 ORDER BY 3 DESC", {min_size}));
//   while (q.Next()) printf("%lld %lld\n", (long long)q.Int(0), (long long)q.Int(2));
//   if (!q.status().ok()) return q.status();
//
//   ATR_ASSIGN_OR_RETURN(int64_t n, atr::QueryScalar(reader, "SELECT count(*) FROM threads"));
#ifndef ATR_DB_QUERY_H_
#define ATR_DB_QUERY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "db/trace_reader.h"

namespace atr {

class QueryCursor {
 public:
  // Prepares sql (exactly one statement) and binds params[i] to ?<i+1>.
  // Errors name the trace and quote SQLite's message:
  // "run.db: query: no such column: sizes".
  [[nodiscard]] static absl::StatusOr<QueryCursor> Run(const TraceReader& reader,
                                                       std::string_view sql,
                                                       absl::Span<const int64_t> params = {});

  QueryCursor(QueryCursor&&) noexcept;
  QueryCursor& operator=(QueryCursor&&) noexcept;
  ~QueryCursor();

  // Advances to the next row; false at the end or on error (see status()).
  bool Next();
  const absl::Status& status() const { return status_; }

  int columns() const;
  std::string ColumnName(int col) const;
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;

 private:
  struct Impl;
  explicit QueryCursor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  absl::Status status_;
  bool done_ = false;
};

// Runs sql (as QueryCursor::Run) and returns the first column of its first
// row as an integer: 0 when there is no row or the value is NULL. For
// counts, maxima and single lookups.
[[nodiscard]] absl::StatusOr<int64_t> QueryScalar(const TraceReader& reader, std::string_view sql,
                                                  absl::Span<const int64_t> params = {});

}  // namespace atr

#endif  // ATR_DB_QUERY_H_
