#include "db/table_transaction.h"

#include <utility>

#include "db/schema.h"

namespace atr {

using db_internal::SqlDatabase;

absl::StatusOr<TableTransaction> TableTransaction::Begin(const std::string& path,
                                                         std::initializer_list<TableGroup> groups) {
  ATR_ASSIGN_OR_RETURN(SqlDatabase db, SqlDatabase::Open(path, SQLITE_OPEN_READWRITE));
  sqlite3_busy_timeout(db.get(), 5000);
  ATR_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "starting a transaction"));
  TableTransaction t(std::move(db));  // rolls back on the error returns below
  for (TableGroup g : groups) ATR_RETURN_IF_ERROR(db_internal::EnsureTableGroup(t.db_, g));
  return t;
}

TableTransaction& TableTransaction::operator=(TableTransaction&& o) noexcept {
  if (this != &o) {
    RollBack();
    db_ = std::move(o.db_);
  }
  return *this;
}

TableTransaction::~TableTransaction() { RollBack(); }

void TableTransaction::RollBack() {
  if (db_.get() != nullptr) db_.Exec("ROLLBACK", "rolling back").IgnoreError();
  db_ = SqlDatabase();
}

absl::Status TableTransaction::Commit() {
  absl::Status s = db_.Exec("COMMIT", "committing");
  if (s.ok()) db_ = SqlDatabase();
  return s;
}

}  // namespace atr
