// BatchInserter: buffers all-integer rows and inserts them `kRowsPerInsert`
// per statement (measured 1.65x the rate of single-row inserts, see
// docs/benchmarks.md, "SQLite alone"). Internal to db/.
//
//   ATR_ASSIGN_OR_RETURN(BatchInserter b,
//       BatchInserter::Create(db, "event_log", 9, /*null_if_zero=*/1u << 7, "inserting events"));
//   int64_t* row = b.Row();  row[0] = seq; ...;  ATR_RETURN_IF_ERROR(b.Commit());
//   ATR_RETURN_IF_ERROR(b.Flush());   // the partial batch, row by row
#ifndef ATR_DB_BATCH_INSERTER_H_
#define ATR_DB_BATCH_INSERTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/sqlite.h"

namespace atr::db_internal {

class BatchInserter {
 public:
  static constexpr int kRowsPerInsert = 50;

  // Columns bound in table order. Bit c of null_if_zero: column c stores
  // NULL for 0 (ids where 0 means none). `verb` starts the statement
  // ("INSERT OR REPLACE": rows of one batch still apply in order).
  static absl::StatusOr<BatchInserter> Create(const SqlDatabase& db, const std::string& table,
                                              int columns, uint32_t null_if_zero,
                                              const std::string& what,
                                              const std::string& verb = "INSERT");

  // Slot for the next row's `columns` values; fill it, then call Commit().
  int64_t* Row() { return &values_[static_cast<size_t>(rows_) * columns_]; }
  // Counts the row filled through Row(); runs the full statement when the
  // buffer holds kRowsPerInsert rows.
  absl::Status Commit() {
    if (++rows_ == kRowsPerInsert) return RunFull();
    return absl::OkStatus();
  }
  // Inserts the buffered partial batch.
  absl::Status Flush();
  int buffered() const { return rows_; }

 private:
  absl::Status RunFull();
  void Bind(SqlStatement& st, int first_row, int rows);

  int columns_ = 0;
  uint32_t null_if_zero_ = 0;
  int rows_ = 0;
  std::vector<int64_t> values_;
  SqlStatement full_;   // kRowsPerInsert rows
  SqlStatement single_; // one row, for Flush
};

}  // namespace atr::db_internal

#endif  // ATR_DB_BATCH_INSERTER_H_
