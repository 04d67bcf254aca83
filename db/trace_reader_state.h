// TraceReader::State: what an open TraceReader keeps (the connection, meta,
// the thread table, the stack walk's caches), and the row-reading helpers
// the reader's files share. Internal to db/:
//   trace_reader.cc          opening: file checks, hot journal recovery,
//                            the schema check, meta
//   trace_reader_rows.cc     whole-table row readers and the cached stack
//                            walk (GetFrame, StackFrames)
//   trace_reader_cursors.cc  the event and allocation cursors
// Not thread-safe, as TraceReader.
#ifndef ATR_DB_TRACE_READER_STATE_H_
#define ATR_DB_TRACE_READER_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/sqlite.h"
#include "db/trace_reader.h"

namespace atr {

namespace db_internal {

// Runs `sql` and calls fn(statement) on each row; fn returns a Status, and
// the first error stops the walk. The one prepare-step loop of the reader.
template <typename Fn>
absl::Status ForEachRow(const SqlDatabase& db, std::string_view sql, std::string_view what,
                        Fn fn) {
  ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(db, sql, what));
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    ATR_RETURN_IF_ERROR(fn(st));
  }
}

// Every row of `sql`, each decoded by decode(statement, &row) -> Status.
template <typename Row, typename Decode>
absl::StatusOr<std::vector<Row>> ReadRows(const SqlDatabase& db, std::string_view sql,
                                          std::string_view what, Decode decode) {
  std::vector<Row> out;
  ATR_RETURN_IF_ERROR(ForEachRow(db, sql, what, [&](const SqlStatement& st) {
    Row r{};
    ATR_RETURN_IF_ERROR(decode(st, &r));
    out.push_back(std::move(r));
    return absl::OkStatus();
  }));
  return out;
}

// A nullable column as int32 (pids, tids, lines) or uint64 (addresses).
inline std::optional<int32_t> OptInt32(const SqlStatement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return static_cast<int32_t>(st.ColumnInt64(col));
}

inline std::optional<uint64_t> OptU64(const SqlStatement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return static_cast<uint64_t>(st.ColumnInt64(col));
}

}  // namespace db_internal

struct TraceReader::State {
  db_internal::SqlDatabase db;
  int schema_version = 0;
  bool complete = false;
  std::map<std::string, std::string> meta;
  std::vector<EventCursor::ThreadKey> threads;  // by threads.id
  absl::flat_hash_map<int32_t, std::vector<int64_t>> threads_by_pid;

  std::optional<std::string> stack_stats_from_pairs;  // set when there is no stack_stats

  // Stack walk caches.
  db_internal::SqlStatement node_query, frame_query, inline_query;
  absl::flat_hash_map<StackId, std::pair<StackId, int64_t>> nodes;  // id -> (parent, frame)
  absl::node_hash_map<int64_t, Frame> frames;                       // stable addresses

  // Whether the trace has table `name`.
  bool HasTable(std::string_view name) const;
  // Reads meta and threads and prepares the stack walk's statements, after
  // checking that every required table is there.
  absl::Status Load();
};

}  // namespace atr

#endif  // ATR_DB_TRACE_READER_STATE_H_
