#include "db/allocations.h"

#include <sys/stat.h>

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "db/batch_inserter.h"
#include "db/pairing.h"
#include "db/sqlite.h"

namespace atr {
namespace db_internal {
namespace {

}  // namespace

absl::StatusOr<AllocationStats> BuildAllocationsOn(SqlDatabase& db, size_t max_window) {
  // thread id -> pid.
  absl::flat_hash_map<int64_t, int32_t> thread_pid;
  {
    ATR_ASSIGN_OR_RETURN(SqlStatement st,
                         SqlStatement::Prepare(db, "SELECT id, pid FROM threads", "reading threads"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      thread_pid[st.ColumnInt64(0)] = static_cast<int32_t>(st.ColumnInt64(1));
    }
  }
  ATR_ASSIGN_OR_RETURN(BatchInserter out, BatchInserter::Create(db, "allocation_pairs", 2, 1u << 1,
                                                                "writing allocations"));
  Pairing pairing(&db, &out, max_window);
  {
    ATR_ASSIGN_OR_RETURN(SqlStatement st,
                         SqlStatement::Prepare(db, "SELECT pid, ppid FROM processes",
                                               "reading processes"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::optional<int32_t> ppid;
      if (!st.IsNull(1)) ppid = static_cast<int32_t>(st.ColumnInt64(1));
      pairing.AddProcess(static_cast<int32_t>(st.ColumnInt64(0)), ppid);
    }
  }

  ATR_RETURN_IF_ERROR(db.Exec("BEGIN; DELETE FROM allocation_pairs;", "pairing allocations"));
  {
    // Rowid order: a plain b-tree walk, no sort.
    ATR_ASSIGN_OR_RETURN(SqlStatement ev,
                         SqlStatement::Prepare(db,
                                               "SELECT seq, thread, op, addr, size, stack "
                                               "FROM event_log "
                                               "ORDER BY seq",
                                               "reading events"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, ev.Step());
      if (!row) break;
      int64_t thread = ev.ColumnInt64(1);
      auto t = thread_pid.find(thread);
      int32_t pid = t != thread_pid.end() ? t->second : 0;
      ATR_RETURN_IF_ERROR(pairing.OnEvent(ev.ColumnInt64(0), thread, pid,
                                          static_cast<Op>(ev.ColumnInt64(2)),
                                          static_cast<uint64_t>(ev.ColumnInt64(3)),
                                          static_cast<uint64_t>(ev.ColumnInt64(4)),
                                          ev.ColumnInt64(5)));  // NULL stack reads as 0
    }
  }
  ATR_ASSIGN_OR_RETURN(AllocationStats stats, pairing.Finish());
  ATR_RETURN_IF_ERROR(pairing.WriteResults(db, stats));
  ATR_RETURN_IF_ERROR(db.Exec("COMMIT", "pairing allocations"));
  return stats;
}

}  // namespace db_internal

absl::StatusOr<AllocationStats> BuildAllocations(const std::string& trace_path) {
  struct stat st;
  if (stat(trace_path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(trace_path, ": no such file"));
  }
  ATR_ASSIGN_OR_RETURN(db_internal::SqlDatabase db,
                       db_internal::SqlDatabase::Open(trace_path, SQLITE_OPEN_READWRITE));
  ATR_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;", "configuring"));
  ATR_ASSIGN_OR_RETURN(
      db_internal::SqlStatement q,
      db_internal::SqlStatement::Prepare(db,
                                         "SELECT count(*) FROM sqlite_schema WHERE type='table' "
                                         "AND name IN ('event_log','allocation_pairs','threads')",
                                         "checking the schema"));
  ATR_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || q.ColumnInt64(0) != 3) {
    return absl::FailedPreconditionError(
        absl::StrCat(trace_path, ": not an atr trace (no event_log table)"));
  }
  q = db_internal::SqlStatement();  // finalize before the pass writes
  return db_internal::BuildAllocationsOn(db);
}

}  // namespace atr
