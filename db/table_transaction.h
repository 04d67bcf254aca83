// TableTransaction: one write transaction on an existing atr file, for the
// components that keep their own table group beside a recording (replay
// results, stack-depth replays, source sites; db/table_groups.h).
//
// Begin() opens the file read-write, waits up to 5 s for another writer,
// takes the write lock (BEGIN IMMEDIATE) and ensures the groups, so the
// caller's inserts find every table and column this build writes, whatever
// atr wrote the file. Destroyed without Commit(), it rolls back: nothing
// the caller wrote, and no table it created, stays. Not thread-safe.
//
//   ATR_ASSIGN_OR_RETURN(TableTransaction t,
//                        TableTransaction::Begin("run.db", {TableGroup::kReplay}));
//   ATR_ASSIGN_OR_RETURN(SqlStatement ins, SqlStatement::Prepare(t.database(),
//                        "INSERT INTO replays(...) VALUES(...)", "storing the replay"));
//   ...
//   ATR_RETURN_IF_ERROR(t.Commit());
#ifndef ATR_DB_TABLE_TRANSACTION_H_
#define ATR_DB_TABLE_TRANSACTION_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/sqlite.h"
#include "db/table_groups.h"

namespace atr {

class TableTransaction {
 public:
  // Fails with one line naming the file (missing, read-only, locked by a
  // writer for more than 5 s, not SQLite); nothing is changed then.
  [[nodiscard]] static absl::StatusOr<TableTransaction> Begin(
      const std::string& path, std::initializer_list<TableGroup> groups);

  TableTransaction(TableTransaction&& o) noexcept = default;
  TableTransaction& operator=(TableTransaction&& o) noexcept;
  ~TableTransaction();

  // The connection, inside the transaction, for the caller's statements.
  db_internal::SqlDatabase& database() { return db_; }

  // Commits. REQUIRES: called at most once.
  absl::Status Commit();

 private:
  explicit TableTransaction(db_internal::SqlDatabase db) : db_(std::move(db)) {}
  void RollBack();
  db_internal::SqlDatabase db_;  // empty once committed or moved from
};

}  // namespace atr

#endif  // ATR_DB_TABLE_TRANSACTION_H_
