// TraceWriter::State: what a TraceWriter keeps between calls. Internal to
// db/; the writer's three files share it:
//   trace_writer.cc          the file's lifecycle (create, reopen, Flush,
//                            Finish, destructor) and the commit policy
//   trace_writer_events.cc   events: staging, the allocation pass, the
//                            batched inserts of events, late frees and
//                            stack nodes
//   trace_writer_upserts.cc  metadata upserts: processes, threads,
//                            modules, frames, inline frames, meta, and
//                            ExecuteSql
//
// Invariant: while !finished, the connection is inside a transaction (BEGIN
// ran); CommitAndBegin commits it and opens the next. Not thread-safe, as
// TraceWriter; only the StageEvents/InsertStagedEvents halves may overlap,
// and they touch disjoint members (staging: thread_ids, last_thread_*,
// next_thread_id, events_added, online; inserting: the inserters,
// thread_insert, events_since_commit).
#ifndef ATR_DB_TRACE_WRITER_STATE_H_
#define ATR_DB_TRACE_WRITER_STATE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "db/batch_inserter.h"
#include "db/online_pairing.h"
#include "db/sqlite.h"
#include "db/trace_writer.h"

namespace atr {

namespace db_internal {

// The key of thread_ids: (pid, tid) in one word.
inline uint64_t ThreadKey(int32_t pid, int32_t tid) {
  return (uint64_t{static_cast<uint32_t>(pid)} << 32) | static_cast<uint32_t>(tid);
}

}  // namespace db_internal

struct TraceWriter::State {
  TraceWriterOptions options;
  db_internal::SqlDatabase db;
  bool finished = false;
  int64_t events_added = 0;
  int64_t events_since_commit = 0;
  absl::flat_hash_map<uint64_t, int64_t> thread_ids;  // (pid, tid) -> threads.id

  db_internal::BatchInserter events;
  db_internal::BatchInserter stack_nodes;
  db_internal::BatchInserter late_frees;
  // The allocation pass, run as events arrive; rows reach `events` through
  // it. Null: not kept (a reopened trace whose earlier events it never
  // saw); Finish() then re-reads the events.
  std::unique_ptr<db_internal::OnlinePairing> online;
  db_internal::SqlStatement thread_insert;
  db_internal::SqlStatement thread_update;
  db_internal::SqlStatement process_upsert;
  db_internal::SqlStatement module_upsert;
  db_internal::SqlStatement frame_upsert;
  db_internal::SqlStatement inline_delete;
  db_internal::SqlStatement inline_insert;
  db_internal::SqlStatement meta_upsert;
  absl::flat_hash_map<std::string, db_internal::SqlStatement> other_statements;  // ExecuteSql

  absl::Status CheckOpen() const {
    if (finished) {
      return absl::FailedPreconditionError(
          absl::StrCat(db.path(), ": trace already finished; no more writes"));
    }
    return absl::OkStatus();
  }

  // The last thread looked up: consecutive events mostly share it.
  uint64_t last_thread_key = 0;
  int64_t last_thread_id = 0;  // 0: none cached yet
  int64_t next_thread_id = 1;

  db_internal::StagedEvents own_staged;  // AddEvent's batch

  // --- trace_writer_events.cc ---

  // Prepares the event, stack node, late free and thread inserts.
  absl::Status PrepareEventStatements();

  // threads.id of (pid, tid). A new thread gets the next id, and its row is
  // inserted now, or, with `defer`, by the InsertStaged of that batch (both
  // insert it OR IGNORE: whichever comes first).
  absl::StatusOr<int64_t> ThreadId(int32_t pid, int32_t tid, db_internal::StagedEvents* defer);
  absl::Status InsertThread(const db_internal::StagedEvents::Thread& t);

  // Turns one event into its row and hands it to the allocation pass (or,
  // without one, straight to `out`).
  absl::Status Stage(const EventRow& e, db_internal::StagedEvents* out);

  // Moves what the allocation pass staged into `out`.
  void TakeOnline(db_internal::StagedEvents* out);

  // The SQLite half: inserts `st` and clears it; with `may_commit`, commits
  // every commit_every_events rows unless commit_on_flush_only.
  absl::Status InsertStaged(db_internal::StagedEvents& st, bool may_commit = true);

  // --- trace_writer_upserts.cc ---

  // Prepares the upserts of processes, threads, modules, frames, inline
  // frames and meta.
  absl::Status PrepareUpsertStatements();

  // --- trace_writer.cc ---

  // all_rows: the caller was promised every added event (Flush); else the
  // online pass may keep its windows.
  absl::Status CommitAndBegin(bool all_rows);
};

}  // namespace atr

#endif  // ATR_DB_TRACE_WRITER_STATE_H_
