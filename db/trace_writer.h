// TraceWriter: creates a trace file (SQLite, schema version 2,
// docs/trace-format.md) and fills it.
//
// Contract:
//   - Create() makes a new file with mode 0600 and refuses to replace an
//     existing one unless TraceWriterOptions::overwrite is set.
//   - Events are buffered and inserted 50 rows per statement; a transaction
//     is committed every `commit_every_events` events and on Flush(). A
//     writer killed with SIGKILL leaves a file that opens (the rollback
//     journal beside it undoes the unfinished transaction on the next open)
//     holding everything up to the last commit, with meta complete = 0.
//   - Events may arrive in any seq order (seq is the row key); a seq must
//     not repeat.
//   - Put*() are upserts by the row's key: fields left nullopt keep what an
//     earlier Put stored, so facts can be added as they are learned.
//   - Allocations are paired while events are added (db/online_pairing.h:
//     a bounded reorder window, then the allocation pass in seq order), so
//     Finish() only writes what that pass counted; when events came too far
//     out of order, or the writer reopened an unfinished trace, Finish()
//     runs the pass over the stored events instead (BuildAllocations).
//   - Finish() commits, completes the allocation pass, builds the
//     indexes, runs ANALYZE, sets meta complete = 1 and closes the file.
//     Without Finish(), the destructor commits what it holds (complete = 0).
//   - Not thread-safe: one thread drives a writer.
//
//   ATR_ASSIGN_OR_RETURN(std::unique_ptr<atr::TraceWriter> w,
//                        atr::TraceWriter::Create("run.db"));
//   w->SetMeta("argv", R"(["./server","--port=80"])");
//   w->PutThread({.pid = 42, .tid = 42, .name = "server"});
//   w->PutFrame({.id = 1, .module_id = 0, .rel_pc = 0x401136});
//   w->AddStackNode({.id = 1, .parent = 0, .frame = 1});
//   w->AddEvent({.seq = 1, .ts_ns = 10, .pid = 42, .tid = 42,
//                .op = atr::Op::kMalloc, .addr = 0x1000, .size = 24, .stack = 1});
//   absl::StatusOr<atr::AllocationStats> stats = w->Finish();
#ifndef ATR_DB_TRACE_WRITER_H_
#define ATR_DB_TRACE_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "db/table_groups.h"
#include "db/trace_rows.h"

namespace atr {

namespace db_internal {
struct StagedEvents;
}

// Rows between TraceWriter::StageEvents and InsertStagedEvents.
struct StagedEventRows {
  StagedEventRows();
  StagedEventRows(StagedEventRows&&) noexcept;
  StagedEventRows& operator=(StagedEventRows&&) noexcept;
  ~StagedEventRows();
  std::unique_ptr<db_internal::StagedEvents> staged;
};

struct TraceWriterOptions {
  bool overwrite = false;                  // replace an existing file at the path
  int64_t commit_every_events = 1 << 16;   // events per transaction (bounds SIGKILL loss)
  bool build_allocations = true;           // pair allocations (online, or in Finish())
  int cache_mib = 64;                      // SQLite page cache; a transaction bigger
                                           // than this spills to the file early
  // true: Flush() and Finish() are the only commits (commit_every_events is
  // ignored) and a writer destroyed without Finish() rolls back what was
  // added since the last Flush(). For a caller whose own rows must be in
  // the same transaction as the events they describe (the collector's
  // spool_progress, docs/trace-format.md).
  bool commit_on_flush_only = false;
};

class TraceWriter {
 public:
  // Fails with one line naming the path: it exists (and !overwrite), its
  // directory is missing or not writable, ...
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TraceWriter>> Create(
      const std::string& path, const TraceWriterOptions& options = {});

  // Reopens a trace whose writer never ran Finish() (meta complete = 0) to
  // add to it; SQLite first rolls back a killed writer's hot journal.
  // Events, threads and the event count continue where the file ends.
  // Fails with one line naming the path: missing, not an atr trace, another
  // schema version, already complete.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TraceWriter>> OpenUnfinished(
      const std::string& path, const TraceWriterOptions& options = {});

  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  ~TraceWriter();

  const std::string& path() const;

  // Buffers one event; e.thread is ignored, (pid, tid) names the thread and
  // a threads row is created the first time a pair is seen.
  // REQUIRES: e.seq >= 1, unique in the trace; e.op a known op code.
  absl::Status AddEvent(const EventRow& e);
  absl::Status AddEvents(absl::Span<const EventRow> events);

  // AddEvents in two halves, for a caller that runs SQLite's inserts on a
  // thread of their own: StageEvents does the rest (thread ids, the
  // allocation pass, ordering) into `out`, InsertStagedEvents the inserts
  // (and clears `rows`). The two may run at the same time on different
  // threads, on different StagedEventRows; every other call, including
  // another StageEvents, must not overlap either. Rows reach the trace in
  // InsertStagedEvents calls in StageEvents order.
  absl::Status StageEvents(absl::Span<const EventRow> events, StagedEventRows* out);
  absl::Status InsertStagedEvents(StagedEventRows* rows);

  // Upsert keyed by (pid, image).
  absl::Status PutProcess(const ProcessRow& p);
  // Upsert keyed by (pid, tid); t.id is ignored.
  absl::Status PutThread(const ThreadRow& t);
  // Upsert keyed by m.id (> 0, chosen by the caller).
  absl::Status PutModule(const ModuleRow& m);
  // Upsert keyed by f.id (> 0, chosen by the caller). The symbolizer calls
  // it again with the symbol fields set.
  absl::Status PutFrame(const FrameRow& f);
  // Replaces the inlined callers of frame_id (depths 1, 2, ...).
  absl::Status PutInlineFrames(int64_t frame_id, absl::Span<const InlineFrameRow> rows);
  // Buffered like events. REQUIRES: n.id > 0, unique; n.frame > 0.
  absl::Status AddStackNode(const StackNodeRow& n);

  // meta key/value (upsert). Values are text, as in the table.
  absl::Status SetMeta(std::string_view key, std::string_view value);
  absl::Status SetMetaInt(std::string_view key, int64_t value);
  // Stores a list as a JSON array of strings (argv).
  absl::Status SetMetaList(std::string_view key, const std::vector<std::string>& values);

  // Creates the tables of `group` that the trace lacks (and their missing
  // columns), in the writer's current transaction: for a group another
  // component keeps in the trace (kSpoolProgress, db/table_groups.h).
  absl::Status EnsureTables(TableGroup group);

  // Runs one statement in the writer's current transaction, ?N bound to
  // args[N-1] (monostate = NULL): for tables another component keeps in the
  // trace (the collector's spool_progress). Each text is prepared once.
  using SqlArg = std::variant<std::monostate, int64_t, std::string_view>;
  absl::Status ExecuteSql(std::string_view sql, std::initializer_list<SqlArg> args = {});

  // Inserts everything buffered and commits: after it returns OK a SIGKILL
  // loses nothing added before the call.
  absl::Status Flush();

  // Flush, allocation pass results, indexes, ANALYZE, complete = 1, close. Any
  // later call fails with FAILED_PRECONDITION.
  [[nodiscard]] absl::StatusOr<AllocationStats> Finish();

  // Events added so far (buffered or written).
  int64_t events_added() const;

 private:
  struct State;
  explicit TraceWriter(std::unique_ptr<State> state);
  static absl::Status PrepareStatements(State& state);
  std::unique_ptr<State> state_;
};

}  // namespace atr

#endif  // ATR_DB_TRACE_WRITER_H_
