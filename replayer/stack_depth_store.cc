#include "replayer/stack_depth_store.h"

#include "absl/strings/str_cat.h"
#include "db/sqlite.h"
#include "db/table_transaction.h"

namespace atr::replay {

using db_internal::SqlDatabase;
using db_internal::SqlStatement;

namespace {

absl::Status Write(SqlDatabase& db, int64_t replay_id, const StackDepthModel& model) {
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

absl::Status StoreStackDepthReplay(const std::string& trace_path, int64_t replay_id,
                              const StackDepthModel& model) {
  absl::StatusOr<TableTransaction> t =
      TableTransaction::Begin(trace_path, {TableGroup::kStackDepthReplay});
  if (!t.ok()) return CannotStore(t.status());
  ATR_RETURN_IF_ERROR(Write(t->database(), replay_id, model));
  return t->Commit();
}

}  // namespace atr::replay
