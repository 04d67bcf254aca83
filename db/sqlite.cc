#include "db/sqlite.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"

namespace atr::db_internal {

absl::Status SqliteError(sqlite3* db, int rc, std::string_view context, std::string_view what) {
  // sqlite3_errmsg is the most specific text (names the constraint or
  // column); fall back to the generic text of the code when it is absent.
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text(context);
  if (!what.empty()) absl::StrAppend(&text, ": ", absl::string_view(what.data(), what.size()));
  absl::StrAppend(&text, ": ", msg);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(text);
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(text);
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(text);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
      return absl::InvalidArgumentError(text);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(text);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(text);
    default:
      return absl::InternalError(text);
  }
}

SqlDatabase& SqlDatabase::operator=(SqlDatabase&& o) noexcept {
  if (this != &o) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

SqlDatabase::~SqlDatabase() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

absl::StatusOr<SqlDatabase> SqlDatabase::Open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is used by one thread at a time (our classes are
  // not thread-safe anyway); the default serialized mode took ~20% of scan
  // time in mutex lock/unlock around every sqlite3_column_* call.
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteError(db, rc, path, "opening");
    sqlite3_close_v2(db);
    return s;
  }
  // Extended codes let callers tell SQLITE_READONLY_ROLLBACK (a hot
  // journal left by a killed writer) from other read-only failures.
  sqlite3_extended_result_codes(db, 1);
  return SqlDatabase(db, path);
}

absl::Status SqlDatabase::Exec(std::string_view sql, std::string_view what) {
  std::string copy(sql);
  int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, what);
  return absl::OkStatus();
}

absl::Status SqlDatabase::Error(int rc, std::string_view what) const {
  return SqliteError(db_, rc, path_, what);
}

SqlStatement& SqlStatement::operator=(SqlStatement&& o) noexcept {
  if (this != &o) {
    if (st_ != nullptr) sqlite3_finalize(st_);
    context_ = std::move(o.context_);
    db_ = std::exchange(o.db_, nullptr);
    st_ = std::exchange(o.st_, nullptr);
  }
  return *this;
}

SqlStatement::~SqlStatement() {
  if (st_ != nullptr) sqlite3_finalize(st_);
}

absl::StatusOr<SqlStatement> SqlStatement::Prepare(const SqlDatabase& db, std::string_view sql,
                                                   std::string_view what) {
  SqlStatement s;
  s.db_ = db.get();
  s.context_ = absl::StrCat(db.path(), ": ", absl::string_view(what.data(), what.size()));
  int rc = sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s.st_, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, what);
  return s;
}

absl::StatusOr<bool> SqlStatement::Step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st_);
    return false;
  }
  // sqlite3_errmsg must be read before reset, which may overwrite it.
  absl::Status s = SqliteError(db_, rc, context_, "");
  sqlite3_reset(st_);
  return s;
}

absl::Status SqlStatement::Run() {
  absl::StatusOr<bool> r = Step();
  // Bindings are kept: every caller binds all parameters before each run,
  // and clearing 450 of them per batch insert is measurable.
  sqlite3_reset(st_);
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

namespace {

// Whether `sql`, with ?1.. bound to `args`, returns a row.
absl::StatusOr<bool> ReturnsRow(const SqlDatabase& db, std::string_view sql,
                                std::initializer_list<std::string_view> args) {
  ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(db, sql, "reading the schema"));
  int i = 1;
  for (std::string_view a : args) st.BindText(i++, a);
  return st.Step();
}

}  // namespace

absl::StatusOr<bool> SqlDatabase::HasTable(std::string_view name) const {
  return ReturnsRow(*this, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                    {name});
}

absl::StatusOr<bool> SqlDatabase::HasColumn(std::string_view table,
                                            std::string_view column) const {
  return ReturnsRow(*this, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
                    {table, column});
}

std::string SqlStatement::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

}  // namespace atr::db_internal
