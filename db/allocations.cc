#include "db/allocations.h"

#include <sys/stat.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "db/pairing.h"
#include "db/schema.h"
#include "db/sqlite.h"

namespace atr {
namespace db_internal {
namespace {

// Puts what the pass found into the trace where the stored pairing
// differs: a row's free_after (tag: the stored value, 0 = NULL) or a
// late_frees row. A trace the online pass finished differs nowhere; a
// continued or abandoned one where rows were written before their release.
class RepairSink : public PairSink {
 public:
  explicit RepairSink(SqlDatabase* db) : db_(db) {}

  int64_t Opened(int64_t alloc_seq, int64_t tag) override { return tag; }

  absl::Status Closed(const LiveBlock& b, int64_t free_seq) override {
    const int64_t after = free_seq == 0 ? 0 : free_seq - b.alloc_seq;
    if (after == b.tag) return absl::OkStatus();
    if (b.tag == 0) {  // row stores NULL: the release goes beside it
      if (!late_.has_value()) {
        ATR_ASSIGN_OR_RETURN(late_, SqlStatement::Prepare(*db_,
                                                          "INSERT OR REPLACE INTO late_frees "
                                                          "VALUES(?1, ?2)",
                                                          "writing late frees"));
      }
      late_->BindInt64(1, b.alloc_seq);
      late_->BindInt64(2, free_seq);
      return late_->Run();
    }
    // Rare (events that came too late for the online pass): rewritten
    // after the scan, which must not see its table change.
    row_fixes_.emplace_back(b.alloc_seq, after);
    return absl::OkStatus();
  }

  absl::Status ApplyRowFixes() {
    ATR_ASSIGN_OR_RETURN(SqlStatement st,
                         SqlStatement::Prepare(*db_,
                                               "UPDATE event_log SET free_after=?2 WHERE seq=?1",
                                               "pairing allocations"));
    for (const auto& [seq, after] : row_fixes_) {
      st.BindInt64(1, seq);
      st.BindIdOrNull(2, after);
      ATR_RETURN_IF_ERROR(st.Run());
    }
    return absl::OkStatus();
  }

 private:
  SqlDatabase* db_;
  std::optional<SqlStatement> late_;
  std::vector<std::pair<int64_t, int64_t>> row_fixes_;  // (seq, free_after; 0 = NULL)
};

}  // namespace

absl::StatusOr<AllocationStats> BuildAllocationsOn(SqlDatabase& db) {
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
  RepairSink sink(&db);
  Pairing pairing(&sink);
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

  ATR_RETURN_IF_ERROR(db.Exec("BEGIN; DELETE FROM late_frees;", "pairing allocations"));
  {
    // Rowid order: a plain b-tree walk, no sort.
    ATR_ASSIGN_OR_RETURN(SqlStatement ev,
                         SqlStatement::Prepare(db,
                                               "SELECT seq, thread, op, addr, size, stack, "
                                               "free_after FROM event_log ORDER BY seq",
                                               "reading events"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, ev.Step());
      if (!row) break;
      int64_t thread = ev.ColumnInt64(1);
      auto t = thread_pid.find(thread);
      int32_t pid = t != thread_pid.end() ? t->second : 0;
      // NULL stack and free_after read as 0.
      ATR_RETURN_IF_ERROR(pairing.OnEvent(ev.ColumnInt64(0), thread, pid,
                                          static_cast<Op>(ev.ColumnInt64(2)),
                                          static_cast<uint64_t>(ev.ColumnInt64(3)),
                                          static_cast<uint64_t>(ev.ColumnInt64(4)),
                                          ev.ColumnInt64(5), ev.ColumnInt64(6)));
    }
  }
  ATR_ASSIGN_OR_RETURN(AllocationStats stats, pairing.Finish());
  ATR_RETURN_IF_ERROR(sink.ApplyRowFixes());
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
  ATR_RETURN_IF_ERROR(db_internal::CheckSchemaVersion(db, trace_path));
  return db_internal::BuildAllocationsOn(db);
}

}  // namespace atr
