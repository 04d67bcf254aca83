#include "db/batch_inserter.h"

#include "absl/strings/str_cat.h"

namespace atr::db_internal {
namespace {

std::string InsertSql(const std::string& verb, const std::string& table, int columns,
                      int rows) {
  std::string one = "(?";
  for (int c = 1; c < columns; ++c) one += ",?";
  one += ')';
  std::string sql = absl::StrCat(verb, " INTO ", table, " VALUES", one);
  for (int r = 1; r < rows; ++r) absl::StrAppend(&sql, ",", one);
  return sql;
}

}  // namespace

absl::StatusOr<BatchInserter> BatchInserter::Create(const SqlDatabase& db,
                                                    const std::string& table, int columns,
                                                    uint32_t null_if_zero,
                                                    const std::string& what,
                                                    const std::string& verb) {
  BatchInserter b;
  b.columns_ = columns;
  b.null_if_zero_ = null_if_zero;
  b.values_.resize(static_cast<size_t>(columns) * kRowsPerInsert);
  ATR_ASSIGN_OR_RETURN(b.full_,
                       SqlStatement::Prepare(db, InsertSql(verb, table, columns, kRowsPerInsert), what));
  ATR_ASSIGN_OR_RETURN(b.single_, SqlStatement::Prepare(db, InsertSql(verb, table, columns, 1), what));
  return b;
}

void BatchInserter::Bind(SqlStatement& st, int first_row, int rows) {
  const int64_t* v = &values_[static_cast<size_t>(first_row) * columns_];
  int param = 1;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < columns_; ++c, ++v, ++param) {
      if (*v == 0 && (null_if_zero_ >> c & 1u)) {
        st.BindNull(param);
      } else {
        st.BindInt64(param, *v);
      }
    }
  }
}

absl::Status BatchInserter::RunFull() {
  Bind(full_, 0, kRowsPerInsert);
  rows_ = 0;  // the rows are consumed even if the insert fails: no retry loops
  return full_.Run();
}

absl::Status BatchInserter::Flush() {
  int n = rows_;
  rows_ = 0;
  for (int r = 0; r < n; ++r) {
    Bind(single_, r, 1);
    ATR_RETURN_IF_ERROR(single_.Run());
  }
  return absl::OkStatus();
}

}  // namespace atr::db_internal
