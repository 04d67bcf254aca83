// Thin RAII layer over the SQLite C API, internal to db/. Turns result codes
// into absl::Status with the trace path and the failed step in the message,
// so every error a user sees reads as one line:
//   "run.db: inserting events: UNIQUE constraint failed: event_log.seq"
//
//   ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(db, sql, ctx));
//   st.BindInt64(1, x);
//   while (true) {
//     ATR_ASSIGN_OR_RETURN(bool row, st.Step());
//     if (!row) break;
//     int64_t v = st.ColumnInt64(0);
//   }
//
// Not part of the public API: other folders use TraceWriter/TraceReader,
// and prepare the inserts of their own table group on the connection of a
// TableTransaction (db/table_transaction.h).
#ifndef ATR_DB_SQLITE_H_
#define ATR_DB_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/status_macros.h"

namespace atr::db_internal {

// Context prepended to messages: usually the trace path.
absl::Status SqliteError(sqlite3* db, int rc, std::string_view context,
                         std::string_view what);

// Owns a connection. Closes it (sqlite3_close_v2) on destruction.
class SqlDatabase {
 public:
  SqlDatabase() = default;
  SqlDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  SqlDatabase(SqlDatabase&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}
  SqlDatabase& operator=(SqlDatabase&& o) noexcept;
  SqlDatabase(const SqlDatabase&) = delete;
  SqlDatabase& operator=(const SqlDatabase&) = delete;
  ~SqlDatabase();

  // flags: SQLITE_OPEN_* (READONLY or READWRITE|CREATE ...).
  static absl::StatusOr<SqlDatabase> Open(const std::string& path, int flags);

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows we care about.
  absl::Status Exec(std::string_view sql, std::string_view what);
  // Error for the last failing call on this connection.
  absl::Status Error(int rc, std::string_view what) const;

  // Whether the schema has table `name`, and whether `table` has `column`
  // (false for a missing table): for code that adapts to older files.
  absl::StatusOr<bool> HasTable(std::string_view name) const;
  absl::StatusOr<bool> HasColumn(std::string_view table, std::string_view column) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Owns a prepared statement. Binding indexes are 1-based, columns 0-based,
// as in the C API.
class SqlStatement {
 public:
  SqlStatement() = default;
  SqlStatement(SqlStatement&& o) noexcept
      : context_(std::move(o.context_)),
        db_(std::exchange(o.db_, nullptr)),
        st_(std::exchange(o.st_, nullptr)) {}
  SqlStatement& operator=(SqlStatement&& o) noexcept;
  SqlStatement(const SqlStatement&) = delete;
  SqlStatement& operator=(const SqlStatement&) = delete;
  ~SqlStatement();

  // what: names the operation in error messages ("reading events").
  static absl::StatusOr<SqlStatement> Prepare(const SqlDatabase& db, std::string_view sql,
                                              std::string_view what);

  bool valid() const { return st_ != nullptr; }
  sqlite3_stmt* get() const { return st_; }

  void BindInt64(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(st_, i); }
  // Binds NULL when v is empty.
  void BindOptInt64(int i, const std::optional<int64_t>& v) {
    if (v) BindInt64(i, *v); else BindNull(i);
  }
  // Binds NULL for 0: ids (stack, parent, module) use 0 for "none".
  void BindIdOrNull(int i, int64_t v) {
    if (v != 0) BindInt64(i, v); else BindNull(i);
  }
  // Copies the text (SQLITE_TRANSIENT): callers may pass temporaries.
  void BindText(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void BindOptText(int i, const std::optional<std::string>& s) {
    if (s) BindText(i, *s); else BindNull(i);
  }

  // true: a row is available; false: done (statement reset for reuse).
  absl::StatusOr<bool> Step();
  // Step for statements that return no row; resets (bindings are kept).
  absl::Status Run();
  void Reset() { sqlite3_reset(st_); }
  // The status for a result code returned by a raw sqlite3_step on get().
  absl::Status ErrorFor(int rc) const { return SqliteError(db_, rc, context_, ""); }

  bool IsNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  int64_t ColumnInt64(int col) const { return sqlite3_column_int64(st_, col); }
  std::optional<int64_t> ColumnOptInt64(int col) const {
    if (IsNull(col)) return std::nullopt;
    return ColumnInt64(col);
  }
  std::string ColumnText(int col) const;
  std::optional<std::string> ColumnOptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return ColumnText(col);
  }

 private:
  std::string context_;  // "path: what", the prefix of error messages
  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace atr::db_internal

#endif  // ATR_DB_SQLITE_H_
