// TraceReader: opens a trace read-only and streams it.
//
// Contract:
//   - Open() fails with one line naming the path when the file is missing,
//     empty, not SQLite, SQLite but not an atr trace, of a schema version
//     newer than kTraceSchemaVersion, or truncated. A trace left by a killed
//     writer (hot journal beside it) is rolled back first if the file is
//     writable, exactly as the sqlite3 shell would; it then reads as
//     complete() == false.
//   - Cursors and returned pointers borrow from the reader: REQUIRES the
//     reader outlives them (moving the reader is fine).
//   - Corruption found while reading surfaces as a DATA_LOSS status from the
//     cursor, never a crash.
//   - Not thread-safe; open one reader per thread (SQLite allows many).
//
//   ATR_ASSIGN_OR_RETURN(atr::TraceReader trace, atr::TraceReader::Open("run.db"));
//   ATR_ASSIGN_OR_RETURN(atr::EventCursor events, trace.Events({.pid = 42}));
//   atr::EventRow e;
//   while (events.Next(&e)) { ... }
//   if (!events.status().ok()) return events.status();
//   ATR_ASSIGN_OR_RETURN(std::vector<const atr::Frame*> frames, trace.StackFrames(e.stack));
#ifndef ATR_DB_TRACE_READER_H_
#define ATR_DB_TRACE_READER_H_

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/trace_rows.h"

namespace atr {

namespace db_internal {
class SqlDatabase;
class SqlStatement;
}  // namespace db_internal

// A frame with its symbol and the functions inlined at its pc.
struct Frame {
  FrameRow row{};                       // the frames table row
  std::vector<InlineFrameRow> inlined{};  // callers inlined at the pc, depth 1 first
};

struct EventFilter {
  int64_t first_seq = 0;                                  // inclusive
  int64_t last_seq = std::numeric_limits<int64_t>::max(); // inclusive
  std::optional<int32_t> pid{};                           // only this process
};

// Streams events ordered by seq. One prepared statement; rows are decoded
// with sqlite3_column_int64 straight into the caller's EventRow.
class EventCursor {
 public:
  EventCursor(EventCursor&&) noexcept;
  EventCursor& operator=(EventCursor&&) noexcept;
  ~EventCursor();

  // Fills *row and returns true, or returns false at the end or on error
  // (then status() says which).
  bool Next(EventRow* row);
  const absl::Status& status() const { return status_; }

  struct ThreadKey {
    int32_t pid;
    int32_t tid;
  };

 private:
  friend class TraceReader;
  EventCursor(std::unique_ptr<db_internal::SqlStatement> st,
              const std::vector<ThreadKey>* threads);
  std::unique_ptr<db_internal::SqlStatement> st_;
  const std::vector<ThreadKey>* threads_;  // indexed by threads.id, owned by the reader
  absl::Status status_;
  bool done_ = false;
};

// Streams the `allocations` view ordered by alloc_seq.
class AllocationCursor {
 public:
  AllocationCursor(AllocationCursor&&) noexcept;
  AllocationCursor& operator=(AllocationCursor&&) noexcept;
  ~AllocationCursor();

  bool Next(AllocationRow* row);
  const absl::Status& status() const { return status_; }

 private:
  friend class TraceReader;
  explicit AllocationCursor(std::unique_ptr<db_internal::SqlStatement> st);
  std::unique_ptr<db_internal::SqlStatement> st_;
  absl::Status status_;
  bool done_ = false;
};

// The rows of the stack_stats table (docs/trace-format.md) computed from
// the allocations in event_log, as a parenthesized subquery; `peak_seq`
// is meta alloc_peak_live_seq.
std::string StackStatsFromPairsSql(int64_t peak_seq);

class TraceReader {
 public:
  [[nodiscard]] static absl::StatusOr<TraceReader> Open(const std::string& path);

  TraceReader(TraceReader&&) noexcept;
  TraceReader& operator=(TraceReader&&) noexcept;
  ~TraceReader();

  const std::string& path() const;
  int schema_version() const;
  // meta complete = 1: the writer ran Finish() (allocations are built).
  bool complete() const;

  // The meta table, read at Open().
  const std::map<std::string, std::string>& meta() const;
  std::optional<std::string> Meta(std::string_view key) const;
  std::optional<int64_t> MetaInt(std::string_view key) const;
  // A meta value stored as a JSON array of strings (argv).
  std::optional<std::vector<std::string>> MetaList(std::string_view key) const;

  absl::StatusOr<std::vector<ProcessRow>> Processes() const;
  absl::StatusOr<std::vector<ThreadRow>> Threads() const;
  absl::StatusOr<std::vector<ModuleRow>> Modules() const;
  // Every frame row (symbols only, no inline frames), ordered by id.
  absl::StatusOr<std::vector<FrameRow>> Frames() const;
  // Every stack node, ordered by id.
  absl::StatusOr<std::vector<StackNodeRow>> StackNodes() const;

  absl::StatusOr<EventCursor> Events(const EventFilter& filter = {}) const;
  // only_live: just allocations never released (leaks).
  absl::StatusOr<AllocationCursor> Allocations(bool only_live = false) const;
  // Whether the trace has table `name` (tables added after version 1 was
  // frozen, e.g. stack_stats, are missing from older traces).
  bool HasTable(std::string_view name) const;

  // `sql`, a query reading "FROM stack_stats", ready for this trace: for a
  // trace finished before the allocation pass wrote that table, it reads
  // the same rows from the pairs (StackStatsFromPairsSql: same numbers, but
  // it joins every pair to its event).
  std::string WithStackStats(std::string_view sql) const;

  // Rows in event_log (exact; a count(*) walk, not free on big traces).
  absl::StatusOr<int64_t> CountEvents() const;

  // One frame, cached: the pointer stays valid for the reader's lifetime.
  absl::StatusOr<const Frame*> GetFrame(int64_t frame_id);
  // The frames of stack `id`, innermost first; empty for id 0. Nodes and
  // frames are cached, so walking many stacks costs one lookup per new node.
  absl::StatusOr<std::vector<const Frame*>> StackFrames(StackId id);

 private:
  friend class QueryCursor;  // runs SQL on the same read-only connection
  struct State;
  explicit TraceReader(std::unique_ptr<State> state);
  const db_internal::SqlDatabase& database() const;
  std::unique_ptr<State> state_;
};

}  // namespace atr

#endif  // ATR_DB_TRACE_READER_H_
