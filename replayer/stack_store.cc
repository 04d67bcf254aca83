#include "replayer/stack_store.h"

#include "absl/strings/str_cat.h"
#include "db/sqlite.h"

namespace atr::replay {

using db_internal::SqlDatabase;
using db_internal::SqlStatement;

const char* StackReplaySchemaSql() {
  return R"sql(
CREATE TABLE IF NOT EXISTS replay_stack_threads(
  replay_id INTEGER NOT NULL,   -- replays.id
  pid INTEGER NOT NULL,
  tid INTEGER NOT NULL,
  stack_size INTEGER NOT NULL,  -- bytes checked (--stack-size)
  exact INTEGER NOT NULL,       -- 1: enter/exit stream; 0: sampled sp_depth only
  events INTEGER NOT NULL,      -- events with a known depth
  func_events INTEGER NOT NULL, -- enter/exit events
  max_frames INTEGER NOT NULL,  -- deepest instrumented call path, frames
  max_depth INTEGER NOT NULL,   -- bytes
  max_seq INTEGER,
  max_stack INTEGER,            -- stacks.id: the path at the deepest point
  overflow_seq INTEGER,         -- first event deeper than stack_size; NULL: none
  overflow_ts_ns INTEGER,
  overflow_depth INTEGER,
  overflow_stack INTEGER,       -- stacks.id: the path there
  PRIMARY KEY(replay_id, pid, tid)) WITHOUT ROWID;
)sql";
}

namespace {

absl::Status Write(SqlDatabase& db, int64_t replay_id, const StackModel& model) {
  ATR_ASSIGN_OR_RETURN(
      SqlStatement ins,
      SqlStatement::Prepare(db,
                            "INSERT INTO replay_stack_threads VALUES "
                            "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                            "storing the stack replay"));
  for (const ThreadStackState& t : model.threads()) {
    ins.BindInt64(1, replay_id);
    ins.BindInt64(2, t.pid);
    ins.BindInt64(3, t.tid);
    ins.BindInt64(4, static_cast<int64_t>(model.options().stack_size));
    ins.BindInt64(5, model.saw_func_events() ? 1 : 0);
    ins.BindInt64(6, t.events);
    ins.BindInt64(7, t.func_events);
    ins.BindInt64(8, t.max_frames);
    ins.BindInt64(9, t.max.depth);
    ins.BindIdOrNull(10, t.max.seq);
    ins.BindIdOrNull(11, t.max.stack);
    if (t.overflow) {
      ins.BindInt64(12, t.overflow->seq);
      ins.BindInt64(13, t.overflow->ts_ns);
      ins.BindInt64(14, t.overflow->depth);
      ins.BindIdOrNull(15, t.overflow->stack);
    } else {
      for (int i = 12; i <= 15; ++i) ins.BindNull(i);
    }
    ATR_RETURN_IF_ERROR(ins.Run());
  }
  return absl::OkStatus();
}

absl::Status CannotStore(const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat("cannot store the stack replay in the trace: ",
                                             s.message(), " (use --no-store)"));
}

}  // namespace

absl::Status StoreStackReplay(const std::string& trace_path, int64_t replay_id,
                              const StackModel& model) {
  absl::StatusOr<SqlDatabase> opened = SqlDatabase::Open(trace_path, SQLITE_OPEN_READWRITE);
  if (!opened.ok()) return CannotStore(opened.status());
  SqlDatabase db = *std::move(opened);
  sqlite3_busy_timeout(db.get(), 5000);
  absl::Status s = db.Exec(absl::StrCat("BEGIN IMMEDIATE;", StackReplaySchemaSql()),
                           "creating the stack replay table");
  if (!s.ok()) return CannotStore(s);
  s = Write(db, replay_id, model);
  if (!s.ok()) {
    (void)db.Exec("ROLLBACK", "rolling back");
    return s;
  }
  return db.Exec("COMMIT", "committing the stack replay");
}

}  // namespace atr::replay
