#include "db/query.h"

#include "absl/strings/str_cat.h"
#include "db/sqlite.h"

namespace atr {

using db_internal::SqlStatement;

struct QueryCursor::Impl {
  SqlStatement st;
};

QueryCursor::QueryCursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryCursor::QueryCursor(QueryCursor&&) noexcept = default;
QueryCursor& QueryCursor::operator=(QueryCursor&&) noexcept = default;
QueryCursor::~QueryCursor() = default;

absl::StatusOr<QueryCursor> QueryCursor::Run(const TraceReader& reader, std::string_view sql,
                                             absl::Span<const int64_t> params) {
  const db_internal::SqlDatabase& db = reader.database();
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  if (rc != SQLITE_OK) return db.Error(rc, "query");
  sqlite3_finalize(raw);
  // Trailing statements would be silently ignored; say so instead.
  std::string_view rest(tail, sql.data() + sql.size() - tail);
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(db.path(), ": query: give one SQL statement at a time"));
  }
  auto impl = std::make_unique<Impl>();
  ATR_ASSIGN_OR_RETURN(impl->st, SqlStatement::Prepare(db, sql, "query"));
  const int slots = sqlite3_bind_parameter_count(impl->st.get());
  if (static_cast<size_t>(slots) != params.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(db.path(), ": query: ", params.size(), " values for ", slots, " parameters"));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    impl->st.BindInt64(static_cast<int>(i + 1), params[i]);
  }
  return QueryCursor(std::move(impl));
}

absl::StatusOr<int64_t> QueryScalar(const TraceReader& reader, std::string_view sql,
                                    absl::Span<const int64_t> params) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, sql, params));
  const int64_t value = q.Next() ? q.Int(0) : 0;
  ATR_RETURN_IF_ERROR(q.status());
  return value;
}

bool QueryCursor::Next() {
  if (done_) return false;
  int rc = sqlite3_step(impl_->st.get());
  if (rc == SQLITE_ROW) return true;
  done_ = true;
  if (rc != SQLITE_DONE) status_ = impl_->st.ErrorFor(rc);
  return false;
}

int QueryCursor::columns() const { return sqlite3_column_count(impl_->st.get()); }

std::string QueryCursor::ColumnName(int col) const {
  const char* n = sqlite3_column_name(impl_->st.get(), col);
  return n != nullptr ? n : "";
}

bool QueryCursor::IsNull(int col) const { return impl_->st.IsNull(col); }
int64_t QueryCursor::Int(int col) const { return impl_->st.ColumnInt64(col); }
double QueryCursor::Real(int col) const { return sqlite3_column_double(impl_->st.get(), col); }
std::string QueryCursor::Text(int col) const { return impl_->st.ColumnText(col); }

}  // namespace atr
