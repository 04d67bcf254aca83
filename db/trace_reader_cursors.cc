// TraceReader's cursors: events (by seq, optionally one process) and
// allocations (by alloc_seq), streamed one prepared statement at a time,
// and the exact event count.
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/sqlite.h"
#include "db/trace_reader.h"
#include "db/trace_reader_state.h"

namespace atr {

using db_internal::OptInt32;
using db_internal::SqlStatement;

namespace {

// One step of a cursor's statement: true with a row to read; false at the
// end or on an error (kept in *status), and on every call after that.
bool StepCursor(const SqlStatement& st, bool* done, absl::Status* status) {
  if (*done) return false;
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return true;
  *done = true;
  if (rc != SQLITE_DONE) *status = st.ErrorFor(rc);
  return false;
}

}  // namespace

absl::StatusOr<int64_t> TraceReader::CountEvents() const {
  ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(state_->db,
                                                              "SELECT count(*) FROM event_log",
                                                              "counting events"));
  ATR_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

absl::StatusOr<EventCursor> TraceReader::Events(const EventFilter& filter) const {
  std::string sql =
      "SELECT seq, ts_ns, thread, op, addr, size, arg, stack, sp_depth FROM event_log "
      "WHERE seq >= ?1 AND seq <= ?2";
  if (filter.pid) {
    // A handful of thread ids: cheaper than joining threads for every row.
    auto it = state_->threads_by_pid.find(*filter.pid);
    if (it == state_->threads_by_pid.end()) {
      sql += " AND 0";
    } else {
      absl::StrAppend(&sql, " AND thread IN (", absl::StrJoin(it->second, ","), ")");
    }
  }
  sql += " ORDER BY seq";
  ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(state_->db, sql, "reading events"));
  st.BindInt64(1, filter.first_seq);
  st.BindInt64(2, filter.last_seq);
  return EventCursor(std::make_unique<SqlStatement>(std::move(st)), &state_->threads);
}

absl::StatusOr<AllocationCursor> TraceReader::Allocations(bool only_live) const {
  std::string sql =
      "SELECT id, pid, addr, size, align, op, alloc_seq, free_seq, free_op, alloc_stack, "
      "free_stack, alloc_tid, free_tid FROM allocations";
  if (only_live) sql += " WHERE free_seq IS NULL";
  sql += " ORDER BY alloc_seq";
  ATR_ASSIGN_OR_RETURN(SqlStatement st,
                       SqlStatement::Prepare(state_->db, sql, "reading allocations"));
  return AllocationCursor(std::make_unique<SqlStatement>(std::move(st)));
}

EventCursor::EventCursor(std::unique_ptr<SqlStatement> st, const std::vector<ThreadKey>* threads)
    : st_(std::move(st)), threads_(threads) {}
EventCursor::EventCursor(EventCursor&&) noexcept = default;
EventCursor& EventCursor::operator=(EventCursor&&) noexcept = default;
EventCursor::~EventCursor() = default;

bool EventCursor::Next(EventRow* row) {
  if (!StepCursor(*st_, &done_, &status_)) return false;
  sqlite3_stmt* st = st_->get();
  row->seq = sqlite3_column_int64(st, 0);
  row->ts_ns = sqlite3_column_int64(st, 1);
  int64_t thread = sqlite3_column_int64(st, 2);
  row->thread = thread;
  if (thread >= 0 && static_cast<size_t>(thread) < threads_->size()) {
    row->pid = (*threads_)[thread].pid;
    row->tid = (*threads_)[thread].tid;
  } else {
    row->pid = row->tid = 0;
  }
  row->op = static_cast<Op>(sqlite3_column_int64(st, 3));
  row->addr = static_cast<uint64_t>(sqlite3_column_int64(st, 4));
  row->size = static_cast<uint64_t>(sqlite3_column_int64(st, 5));
  row->arg = static_cast<uint64_t>(sqlite3_column_int64(st, 6));
  row->stack = sqlite3_column_int64(st, 7);  // NULL reads as 0: not recorded
  row->sp_depth = static_cast<uint32_t>(sqlite3_column_int64(st, 8));
  return true;
}

AllocationCursor::AllocationCursor(std::unique_ptr<SqlStatement> st) : st_(std::move(st)) {}
AllocationCursor::AllocationCursor(AllocationCursor&&) noexcept = default;
AllocationCursor& AllocationCursor::operator=(AllocationCursor&&) noexcept = default;
AllocationCursor::~AllocationCursor() = default;

bool AllocationCursor::Next(AllocationRow* row) {
  if (!StepCursor(*st_, &done_, &status_)) return false;
  const SqlStatement& s = *st_;
  row->id = s.ColumnInt64(0);
  row->pid = static_cast<int32_t>(s.ColumnInt64(1));
  row->addr = static_cast<uint64_t>(s.ColumnInt64(2));
  row->size = static_cast<uint64_t>(s.ColumnInt64(3));
  row->align = static_cast<uint64_t>(s.ColumnInt64(4));
  row->op = static_cast<Op>(s.ColumnInt64(5));
  row->alloc_seq = s.ColumnInt64(6);
  row->free_seq = s.ColumnOptInt64(7);
  row->free_op = s.IsNull(8) ? std::nullopt : std::optional<Op>(static_cast<Op>(s.ColumnInt64(8)));
  row->alloc_stack = s.ColumnInt64(9);
  row->free_stack = s.ColumnInt64(10);
  row->alloc_tid = static_cast<int32_t>(s.ColumnInt64(11));
  row->free_tid = OptInt32(s, 12);
  return true;
}

}  // namespace atr
