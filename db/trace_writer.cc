// TraceWriter's file lifecycle: creating the file (mode 0600) or reopening
// an unfinished one, the commit policy (a transaction per
// commit_every_events events, or per Flush), Finish and the destructor.
// Events are in trace_writer_events.cc, metadata in trace_writer_upserts.cc.
#include "db/trace_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/allocations.h"
#include "db/online_pairing.h"
#include "db/schema.h"
#include "db/sqlite.h"
#include "db/trace_writer_state.h"

#ifndef ATR_VERSION
#define ATR_VERSION "unknown"
#endif

namespace atr {

using db_internal::OnlinePairing;
using db_internal::SqlDatabase;
using db_internal::SqlStatement;

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Creates an empty file with mode 0600 before SQLite opens it: SQLite would
// create it 0644 (less umask), and a trace holds argv, paths and addresses
// of the traced program. SQLite gives its journal the database's mode.
absl::Status CreateEmptyFile(const std::string& path, bool overwrite) {
  if (overwrite) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      std::string p = path + suffix;
      if (unlink(p.c_str()) != 0 && errno != ENOENT) {
        return absl::PermissionDeniedError(
            absl::StrCat(p, ": cannot replace it: ", ErrnoText(errno)));
      }
    }
  }
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, ": already exists; not overwriting it (choose another name or "
                             "allow overwriting)"));
    }
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot create: ", ErrnoText(err)));
  }
  // Exactly 0600 whatever the umask (a umask of 0277 would leave us unable
  // to write our own file).
  int rc = fchmod(fd, 0600);
  int err = errno;
  close(fd);
  if (rc != 0) return absl::PermissionDeniedError(absl::StrCat(path, ": chmod: ", ErrnoText(err)));
  return absl::OkStatus();
}

}  // namespace

absl::Status TraceWriter::State::CommitAndBegin(bool all_rows) {
  if (all_rows && online != nullptr) {
    ATR_RETURN_IF_ERROR(online->FlushRows());
    TakeOnline(&own_staged);
    ATR_RETURN_IF_ERROR(InsertStaged(own_staged, /*may_commit=*/false));
  }
  ATR_RETURN_IF_ERROR(events.Flush());
  ATR_RETURN_IF_ERROR(stack_nodes.Flush());
  ATR_RETURN_IF_ERROR(late_frees.Flush());
  ATR_RETURN_IF_ERROR(db.Exec("COMMIT", "committing"));
  events_since_commit = 0;
  return db.Exec("BEGIN", "starting a transaction");
}

TraceWriter::TraceWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

TraceWriter::~TraceWriter() {
  if (state_ == nullptr || state_->finished || state_->db.get() == nullptr) return;
  // Best effort: keep what was added (or, with commit_on_flush_only, what
  // was flushed); the trace stays marked incomplete. Errors cannot be
  // reported from here; Flush() first to see them.
  if (state_->options.commit_on_flush_only) {
    (void)state_->db.Exec("ROLLBACK", "rolling back");
  } else {
    if (state_->online != nullptr) {
      (void)state_->online->FlushRows();
      state_->TakeOnline(&state_->own_staged);
    }
    (void)state_->InsertStaged(state_->own_staged, /*may_commit=*/false);
    (void)state_->events.Flush();
    (void)state_->stack_nodes.Flush();
    (void)state_->late_frees.Flush();
    (void)state_->db.Exec("COMMIT", "committing");
  }
  (void)state_->db.Exec("PRAGMA journal_mode=DELETE", "closing");
}

const std::string& TraceWriter::path() const { return state_->db.path(); }
int64_t TraceWriter::events_added() const { return state_->events_added; }

absl::StatusOr<std::unique_ptr<TraceWriter>> TraceWriter::Create(
    const std::string& path, const TraceWriterOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("trace path is empty");
  ATR_RETURN_IF_ERROR(CreateEmptyFile(path, options.overwrite));
  auto state = std::make_unique<State>();
  state->options = options;
  if (state->options.commit_every_events <= 0) state->options.commit_every_events = 1 << 16;
  ATR_ASSIGN_OR_RETURN(state->db, SqlDatabase::Open(path, SQLITE_OPEN_READWRITE));
  SqlDatabase& db = state->db;
  // Rollback journal (TRUNCATE: no create/unlink per commit) rather than
  // journal_mode=OFF: a writer killed in the middle of a commit leaves a hot
  // journal that the next open rolls back, so the file always opens. WAL
  // would also be safe but writes every page twice. synchronous=OFF: we
  // protect against a killed process, not against power loss (no fsync).
  ATR_RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA page_size=", db_internal::kPageSize, ";"
                                           "PRAGMA journal_mode=TRUNCATE;"
                                           "PRAGMA synchronous=OFF;"
                                           "PRAGMA cache_size=-", options.cache_mib * 1024, ";"
                                           "PRAGMA temp_store=MEMORY;"),
                              "configuring"));
  ATR_RETURN_IF_ERROR(db_internal::CreateSchema(db));
  ATR_RETURN_IF_ERROR(PrepareStatements(*state));
  if (state->options.build_allocations) {
    state->online = std::make_unique<OnlinePairing>();
  }
  ATR_RETURN_IF_ERROR(db.Exec("BEGIN", "starting a transaction"));
  std::unique_ptr<TraceWriter> w(new TraceWriter(std::move(state)));
  ATR_RETURN_IF_ERROR(w->SetMeta("atr_version", ATR_VERSION));
  ATR_RETURN_IF_ERROR(w->SetMeta("sqlite_version", sqlite3_libversion()));
  return w;
}

absl::StatusOr<std::unique_ptr<TraceWriter>> TraceWriter::OpenUnfinished(
    const std::string& path, const TraceWriterOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("trace path is empty");
  if (access(path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no such trace"));
  }
  auto state = std::make_unique<State>();
  state->options = options;
  if (state->options.commit_every_events <= 0) state->options.commit_every_events = 1 << 16;
  ATR_ASSIGN_OR_RETURN(state->db, SqlDatabase::Open(path, SQLITE_OPEN_READWRITE));
  SqlDatabase& db = state->db;
  ATR_RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA journal_mode=TRUNCATE;"
                                           "PRAGMA synchronous=OFF;"
                                           "PRAGMA cache_size=-", options.cache_mib * 1024, ";"
                                           "PRAGMA temp_store=MEMORY;"),
                              "configuring"));
  auto meta = SqlStatement::Prepare(db, "SELECT value FROM meta WHERE key=?1", "reading meta");
  if (!meta.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": not an atr trace"));
  auto meta_value = [&](std::string_view key) -> absl::StatusOr<std::string> {
    meta->BindText(1, key);
    ATR_ASSIGN_OR_RETURN(bool row, meta->Step());
    std::string v = row ? meta->ColumnText(0) : std::string();
    meta->Reset();
    return v;
  };
  ATR_ASSIGN_OR_RETURN(std::string version, meta_value("schema_version"));
  int version_number = 0;
  if (!absl::SimpleAtoi(version, &version_number) || version_number < 1) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not an atr trace"));
  }
  ATR_RETURN_IF_ERROR(db_internal::CheckSchemaVersion(path, version_number));
  ATR_ASSIGN_OR_RETURN(std::string complete, meta_value("complete"));
  if (complete != "0") {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": the trace is already complete; nothing to continue"));
  }
  ATR_ASSIGN_OR_RETURN(SqlStatement threads,
                       SqlStatement::Prepare(db, "SELECT id, pid, tid FROM threads",
                                             "reading threads"));
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool row, threads.Step());
    if (!row) break;
    state->thread_ids[db_internal::ThreadKey(static_cast<int32_t>(threads.ColumnInt64(1)),
                                             static_cast<int32_t>(threads.ColumnInt64(2)))] =
        threads.ColumnInt64(0);
    state->next_thread_id = std::max(state->next_thread_id, threads.ColumnInt64(0) + 1);
  }
  ATR_ASSIGN_OR_RETURN(SqlStatement count, SqlStatement::Prepare(db, "SELECT count(*) FROM "
                                                                     "event_log",
                                                                 "counting events"));
  ATR_ASSIGN_OR_RETURN(bool counted, count.Step());
  if (counted) state->events_added = count.ColumnInt64(0);
  count = SqlStatement();
  threads = SqlStatement();
  *meta = SqlStatement();
  ATR_RETURN_IF_ERROR(PrepareStatements(*state));
  ATR_RETURN_IF_ERROR(db.Exec("BEGIN", "starting a transaction"));
  return std::unique_ptr<TraceWriter>(new TraceWriter(std::move(state)));
}

absl::Status TraceWriter::PrepareStatements(State& state) {
  ATR_RETURN_IF_ERROR(state.PrepareEventStatements());
  return state.PrepareUpsertStatements();
}

absl::Status TraceWriter::Flush() {
  ATR_RETURN_IF_ERROR(state_->CheckOpen());
  return state_->CommitAndBegin(/*all_rows=*/true);
}

absl::StatusOr<AllocationStats> TraceWriter::Finish() {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  std::optional<AllocationStats> online_stats;
  if (s.online != nullptr) {
    // The last rows, op_stats, stack_stats and meta alloc_*, in the
    // events' transaction.
    ATR_ASSIGN_OR_RETURN(online_stats, s.online->Finish(s.db));
    s.TakeOnline(&s.own_staged);
  }
  ATR_RETURN_IF_ERROR(s.InsertStaged(s.own_staged, /*may_commit=*/false));
  ATR_RETURN_IF_ERROR(s.events.Flush());
  ATR_RETURN_IF_ERROR(s.stack_nodes.Flush());
  ATR_RETURN_IF_ERROR(s.late_frees.Flush());
  ATR_RETURN_IF_ERROR(SetMetaInt("event_count", s.events_added));
  ATR_RETURN_IF_ERROR(s.db.Exec("COMMIT", "committing"));
  s.finished = true;  // from here on only this function writes
  s.online.reset();

  AllocationStats stats;
  if (online_stats) {
    stats = *online_stats;
  } else if (s.options.build_allocations) {
    ATR_ASSIGN_OR_RETURN(stats, db_internal::BuildAllocationsOn(s.db));
  }
  ATR_RETURN_IF_ERROR(db_internal::CreateFinishIndexes(s.db));
  // analysis_limit keeps ANALYZE from reading every event row: the planner
  // only needs rough sizes.
  ATR_RETURN_IF_ERROR(s.db.Exec("PRAGMA analysis_limit=1000; ANALYZE;", "analyzing"));
  ATR_RETURN_IF_ERROR(
      s.db.Exec("UPDATE meta SET value='1' WHERE key='complete'", "marking the trace complete"));
  ATR_RETURN_IF_ERROR(s.db.Exec("PRAGMA journal_mode=DELETE", "closing"));
  // Closing releases the file; later calls see `finished`.
  s.db = SqlDatabase();
  return stats;
}

}  // namespace atr
