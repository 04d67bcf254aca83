#include "db/trace_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/allocations.h"
#include "db/batch_inserter.h"
#include "db/json_strings.h"
#include "db/online_pairing.h"
#include "db/schema.h"
#include "db/sqlite.h"

#ifndef ATR_VERSION
#define ATR_VERSION "unknown"
#endif

namespace atr {

using db_internal::BatchInserter;
using db_internal::OnlinePairing;
using db_internal::StagedEvents;
using db_internal::SqlDatabase;
using db_internal::SqlStatement;

namespace {

// event_log's columns (db/schema.h).
using db_internal::EventValues;
using db_internal::kArg, db_internal::kAddr, db_internal::kEventColumns,
    db_internal::kEventNullIfZero, db_internal::kFreeAfter, db_internal::kOp, db_internal::kSeq,
    db_internal::kSize, db_internal::kSpDepth, db_internal::kStack, db_internal::kThread,
    db_internal::kTs;

constexpr uint32_t kStackNullIfZero = 1u << 1;  // stacks(id, parent, frame): parent

uint64_t ThreadKey(int32_t pid, int32_t tid) {
  return (uint64_t{static_cast<uint32_t>(pid)} << 32) | static_cast<uint32_t>(tid);
}

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

struct TraceWriter::State {
  TraceWriterOptions options;
  SqlDatabase db;
  bool finished = false;
  int64_t events_added = 0;
  int64_t events_since_commit = 0;
  absl::flat_hash_map<uint64_t, int64_t> thread_ids;  // (pid, tid) -> threads.id

  BatchInserter events;
  BatchInserter stack_nodes;
  BatchInserter late_frees;
  // The allocation pass, run as events arrive; rows reach `events` through
  // it. Null: not kept (a reopened trace whose earlier events it never
  // saw); Finish() then re-reads the events.
  std::unique_ptr<OnlinePairing> online;
  SqlStatement thread_insert;
  SqlStatement thread_update;
  SqlStatement process_upsert;
  SqlStatement module_upsert;
  SqlStatement frame_upsert;
  SqlStatement inline_delete;
  SqlStatement inline_insert;
  SqlStatement meta_upsert;
  absl::flat_hash_map<std::string, SqlStatement> other_statements;  // ExecuteSql

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

  // threads.id of (pid, tid). A new thread gets the next id, and its row is
  // inserted now, or, with `defer`, by the InsertStaged of that batch (both
  // insert it OR IGNORE: whichever comes first).
  absl::StatusOr<int64_t> ThreadId(int32_t pid, int32_t tid, StagedEvents* defer) {
    const uint64_t key = ThreadKey(pid, tid);
    if (key == last_thread_key && last_thread_id != 0) return last_thread_id;
    auto [it, inserted] = thread_ids.try_emplace(key, 0);
    if (inserted) {
      it->second = next_thread_id++;
      if (defer != nullptr) {
        defer->threads.push_back({it->second, pid, tid});
      } else {
        absl::Status s = InsertThread({it->second, pid, tid});
        if (!s.ok()) {
          thread_ids.erase(it);
          return s;
        }
      }
    }
    last_thread_key = key;
    last_thread_id = it->second;
    return it->second;
  }

  absl::Status InsertThread(const StagedEvents::Thread& t) {
    thread_insert.BindInt64(1, t.id);
    thread_insert.BindInt64(2, t.pid);
    thread_insert.BindInt64(3, t.tid);
    return thread_insert.Run();
  }

  // Turns one event into its row and hands it to the allocation pass (or,
  // without one, straight to `out`).
  absl::Status Stage(const EventRow& e, StagedEvents* out) {
    if (e.seq < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(db.path(), ": event seq ", e.seq, " is not >= 1"));
    }
    if (!IsKnownOp(static_cast<uint8_t>(e.op))) {
      return absl::InvalidArgumentError(absl::StrCat(db.path(), ": event seq ", e.seq,
                                                     ": unknown op code ", static_cast<int>(e.op)));
    }
    ATR_ASSIGN_OR_RETURN(int64_t thread, ThreadId(e.pid, e.tid, out));
    EventValues row;
    row[kSeq] = e.seq;
    row[kTs] = e.ts_ns;
    row[kThread] = thread;
    row[kOp] = static_cast<int64_t>(e.op);
    // Addresses and sizes are stored as the int64 with the same bits (an
    // sbrk that shrinks shows a negative size in SQL).
    row[kAddr] = static_cast<int64_t>(e.addr);
    row[kSize] = static_cast<int64_t>(e.size);
    row[kArg] = static_cast<int64_t>(e.arg);
    row[kStack] = e.stack;
    row[kSpDepth] = e.sp_depth;
    row[kFreeAfter] = 0;  // the allocation pass fills it in
    ++events_added;
    if (online == nullptr) {
      out->rows.push_back(row);
      return absl::OkStatus();
    }
    return online->Add(row, e.pid);
  }

  // Moves what the allocation pass staged into `out`.
  void TakeOnline(StagedEvents* out) {
    if (online == nullptr) return;
    StagedEvents& from = online->staged();
    if (out->empty()) {
      std::swap(*out, from);
    } else {
      out->rows.insert(out->rows.end(), from.rows.begin(), from.rows.end());
      out->late_frees.insert(out->late_frees.end(), from.late_frees.begin(),
                             from.late_frees.end());
    }
    from.Clear();
  }

  // The SQLite half: inserts `st` and clears it; with `may_commit`, commits
  // every commit_every_events rows unless commit_on_flush_only.
  absl::Status InsertStaged(StagedEvents& st, bool may_commit = true) {
    for (const StagedEvents::Thread& t : st.threads) ATR_RETURN_IF_ERROR(InsertThread(t));
    for (const EventValues& row : st.rows) {
      std::copy(row.begin(), row.end(), events.Row());
      ATR_RETURN_IF_ERROR(events.Commit());
    }
    // In alloc_seq order: each row is a b-tree seek (late frees come in
    // release order), and sorted seeks walk the same pages. Stable: a
    // repeated alloc_seq keeps its last free_seq (OR REPLACE).
    std::stable_sort(st.late_frees.begin(), st.late_frees.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [alloc_seq, free_seq] : st.late_frees) {
      int64_t* row = late_frees.Row();
      row[0] = alloc_seq;
      row[1] = free_seq;
      ATR_RETURN_IF_ERROR(late_frees.Commit());
    }
    events_since_commit += static_cast<int64_t>(st.rows.size());
    st.Clear();
    if (may_commit && events_since_commit >= options.commit_every_events &&
        !options.commit_on_flush_only) {
      return CommitAndBegin(/*all_rows=*/false);
    }
    return absl::OkStatus();
  }

  // all_rows: the caller was promised every added event (Flush); else the
  // online pass may keep its windows.
  absl::Status CommitAndBegin(bool all_rows) {
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

  StagedEvents own_staged;  // AddEvent's batch
};

StagedEventRows::StagedEventRows() = default;
StagedEventRows::StagedEventRows(StagedEventRows&&) noexcept = default;
StagedEventRows& StagedEventRows::operator=(StagedEventRows&&) noexcept = default;
StagedEventRows::~StagedEventRows() = default;

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
    state->thread_ids[ThreadKey(static_cast<int32_t>(threads.ColumnInt64(1)),
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

absl::Status TraceWriter::PrepareStatements(State& st) {
  State* state = &st;
  SqlDatabase& db = st.db;
  ATR_ASSIGN_OR_RETURN(state->events,
                       BatchInserter::Create(db, "event_log", kEventColumns, kEventNullIfZero,
                                             "inserting events"));
  ATR_ASSIGN_OR_RETURN(state->stack_nodes,
                       BatchInserter::Create(db, "stacks", 3, kStackNullIfZero,
                                             "inserting stack nodes"));
  ATR_ASSIGN_OR_RETURN(
      state->thread_insert,
      SqlStatement::Prepare(db,
                            "INSERT OR IGNORE INTO threads(id, pid, tid) VALUES(?1,?2,?3)",
                            "writing threads"));
  ATR_ASSIGN_OR_RETURN(state->late_frees,
                       BatchInserter::Create(db, "late_frees", 2, /*null_if_zero=*/0,
                                             "writing late frees", "INSERT OR REPLACE"));
  ATR_ASSIGN_OR_RETURN(
      state->thread_update,
      SqlStatement::Prepare(db,
                            "UPDATE threads SET name=coalesce(?3,name), "
                            "creator_tid=coalesce(?4,creator_tid), "
                            "started_seq=coalesce(?5,started_seq), "
                            "ended_seq=coalesce(?6,ended_seq), stack_lo=coalesce(?7,stack_lo), "
                            "stack_hi=coalesce(?8,stack_hi) WHERE id=?1 AND ?2=?2",
                            "writing threads"));
  ATR_ASSIGN_OR_RETURN(
      state->process_upsert,
      SqlStatement::Prepare(
          db,
          "INSERT INTO processes(pid, image, ppid, exe, argv, cwd, started_seq, ended_seq, "
          "started_ns, ended_ns, exit_status, exit_signal) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
          "ON CONFLICT(pid, image) DO UPDATE SET ppid=coalesce(?3,ppid), "
          "exe=coalesce(?4,exe), argv=coalesce(?5,argv), cwd=coalesce(?6,cwd), "
          "started_seq=coalesce(?7,started_seq), ended_seq=coalesce(?8,ended_seq), "
          "started_ns=coalesce(?9,started_ns), ended_ns=coalesce(?10,ended_ns), "
          "exit_status=coalesce(?11,exit_status), exit_signal=coalesce(?12,exit_signal)",
          "writing processes"));
  ATR_ASSIGN_OR_RETURN(
      state->module_upsert,
      SqlStatement::Prepare(
          db,
          "INSERT INTO modules(id, pid, path, build_id, bias, lo, hi, loaded_seq, unloaded_seq) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) "
          "ON CONFLICT(id) DO UPDATE SET pid=?2, path=?3, build_id=coalesce(?4,build_id), "
          "bias=?5, lo=?6, hi=?7, loaded_seq=coalesce(?8,loaded_seq), "
          "unloaded_seq=coalesce(?9,unloaded_seq)",
          "writing modules"));
  ATR_ASSIGN_OR_RETURN(
      state->frame_upsert,
      SqlStatement::Prepare(
          db,
          "INSERT INTO frames(id, module_id, rel_pc, function, file, line, column, frame_size, "
          "dynamic_frame, call_insn) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
          "ON CONFLICT(id) DO UPDATE SET module_id=?2, rel_pc=?3, "
          "function=coalesce(?4,function), file=coalesce(?5,file), line=coalesce(?6,line), "
          "column=coalesce(?7,column), frame_size=coalesce(?8,frame_size), "
          "dynamic_frame=coalesce(?9,dynamic_frame), call_insn=coalesce(?10,call_insn)",
          "writing frames"));
  ATR_ASSIGN_OR_RETURN(state->inline_delete,
                       SqlStatement::Prepare(db, "DELETE FROM inline_frames WHERE frame_id=?1",
                                             "writing inline frames"));
  ATR_ASSIGN_OR_RETURN(state->inline_insert,
                       SqlStatement::Prepare(db,
                                             "INSERT INTO inline_frames(frame_id, depth, function, "
                                             "file, line, column) VALUES(?1,?2,?3,?4,?5,?6)",
                                             "writing inline frames"));
  ATR_ASSIGN_OR_RETURN(
      state->meta_upsert,
      SqlStatement::Prepare(db,
                            "INSERT INTO meta(key, value) VALUES(?1,?2) "
                            "ON CONFLICT(key) DO UPDATE SET value=?2",
                            "writing meta"));
  return absl::OkStatus();
}

absl::Status TraceWriter::AddEvent(const EventRow& e) {
  return AddEvents(absl::Span<const EventRow>(&e, 1));
}

absl::Status TraceWriter::AddEvents(absl::Span<const EventRow> events) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  for (const EventRow& e : events) ATR_RETURN_IF_ERROR(s.Stage(e, &s.own_staged));
  s.TakeOnline(&s.own_staged);
  return s.InsertStaged(s.own_staged);
}

absl::Status TraceWriter::StageEvents(absl::Span<const EventRow> events, StagedEventRows* out) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (out->staged == nullptr) out->staged = std::make_unique<db_internal::StagedEvents>();
  for (const EventRow& e : events) ATR_RETURN_IF_ERROR(s.Stage(e, out->staged.get()));
  s.TakeOnline(out->staged.get());
  return absl::OkStatus();
}

absl::Status TraceWriter::InsertStagedEvents(StagedEventRows* rows) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (rows->staged == nullptr) return absl::OkStatus();
  return s.InsertStaged(*rows->staged);
}

absl::Status TraceWriter::PutProcess(const ProcessRow& p) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  SqlStatement& st = s.process_upsert;
  st.BindInt64(1, p.pid);
  st.BindInt64(2, p.image);
  st.BindOptInt64(3, p.ppid);
  st.BindOptText(4, p.exe);
  if (p.argv) st.BindText(5, db_internal::EncodeJsonStrings(*p.argv)); else st.BindNull(5);
  st.BindOptText(6, p.cwd);
  st.BindOptInt64(7, p.started_seq);
  st.BindOptInt64(8, p.ended_seq);
  st.BindOptInt64(9, p.started_ns);
  st.BindOptInt64(10, p.ended_ns);
  st.BindOptInt64(11, p.exit_status);
  st.BindOptInt64(12, p.exit_signal);
  if (s.online != nullptr) ATR_RETURN_IF_ERROR(s.online->AddProcess(p.pid, p.ppid));
  return st.Run();
}

absl::Status TraceWriter::PutThread(const ThreadRow& t) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  ATR_ASSIGN_OR_RETURN(int64_t id, s.ThreadId(t.pid, t.tid, /*defer=*/nullptr));
  SqlStatement& st = s.thread_update;
  st.BindInt64(1, id);
  st.BindInt64(2, 0);
  st.BindOptText(3, t.name);
  st.BindOptInt64(4, t.creator_tid);
  st.BindOptInt64(5, t.started_seq);
  st.BindOptInt64(6, t.ended_seq);
  auto u64 = [](const std::optional<uint64_t>& v) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    return static_cast<int64_t>(*v);
  };
  st.BindOptInt64(7, u64(t.stack_lo));
  st.BindOptInt64(8, u64(t.stack_hi));
  return st.Run();
}

absl::Status TraceWriter::PutModule(const ModuleRow& m) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (m.id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(s.db.path(), ": module id ", m.id,
                                                   " is not > 0 (", m.path, ")"));
  }
  SqlStatement& st = s.module_upsert;
  st.BindInt64(1, m.id);
  st.BindInt64(2, m.pid);
  st.BindText(3, m.path);
  st.BindOptText(4, m.build_id);
  st.BindInt64(5, static_cast<int64_t>(m.bias));
  st.BindInt64(6, static_cast<int64_t>(m.lo));
  st.BindInt64(7, static_cast<int64_t>(m.hi));
  st.BindOptInt64(8, m.loaded_seq);
  st.BindOptInt64(9, m.unloaded_seq);
  return st.Run();
}

absl::Status TraceWriter::PutFrame(const FrameRow& f) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (f.id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(s.db.path(), ": frame id ", f.id, " is not > 0"));
  }
  SqlStatement& st = s.frame_upsert;
  st.BindInt64(1, f.id);
  st.BindIdOrNull(2, f.module_id);
  st.BindInt64(3, static_cast<int64_t>(f.rel_pc));
  st.BindOptText(4, f.function);
  st.BindOptText(5, f.file);
  st.BindOptInt64(6, f.line);
  st.BindOptInt64(7, f.column);
  st.BindOptInt64(8, f.frame_size);
  if (f.dynamic_frame) {
    st.BindInt64(9, *f.dynamic_frame ? 1 : 0);
  } else {
    st.BindNull(9);
  }
  st.BindOptText(10, f.call_insn);
  return st.Run();
}

absl::Status TraceWriter::PutInlineFrames(int64_t frame_id,
                                          absl::Span<const InlineFrameRow> rows) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  s.inline_delete.BindInt64(1, frame_id);
  ATR_RETURN_IF_ERROR(s.inline_delete.Run());
  for (const InlineFrameRow& r : rows) {
    SqlStatement& st = s.inline_insert;
    st.BindInt64(1, frame_id);
    st.BindInt64(2, r.depth);
    st.BindOptText(3, r.function);
    st.BindOptText(4, r.file);
    st.BindOptInt64(5, r.line);
    st.BindOptInt64(6, r.column);
    ATR_RETURN_IF_ERROR(st.Run());
  }
  return absl::OkStatus();
}

absl::Status TraceWriter::AddStackNode(const StackNodeRow& n) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (n.id <= 0 || n.frame <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(s.db.path(), ": stack node ", n.id,
                                                   " (frame ", n.frame, "): ids must be > 0"));
  }
  int64_t* row = s.stack_nodes.Row();
  row[0] = n.id;
  row[1] = n.parent;
  row[2] = n.frame;
  return s.stack_nodes.Commit();
}

absl::Status TraceWriter::SetMeta(std::string_view key, std::string_view value) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  s.meta_upsert.BindText(1, key);
  s.meta_upsert.BindText(2, value);
  return s.meta_upsert.Run();
}

absl::Status TraceWriter::SetMetaInt(std::string_view key, int64_t value) {
  return SetMeta(key, absl::StrCat(value));
}

absl::Status TraceWriter::SetMetaList(std::string_view key,
                                      const std::vector<std::string>& values) {
  return SetMeta(key, db_internal::EncodeJsonStrings(values));
}

absl::Status TraceWriter::EnsureTables(TableGroup group) {
  ATR_RETURN_IF_ERROR(state_->CheckOpen());
  return db_internal::EnsureTableGroup(state_->db, group);
}

absl::Status TraceWriter::ExecuteSql(std::string_view sql, std::initializer_list<SqlArg> args) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  auto it = s.other_statements.find(absl::string_view(sql.data(), sql.size()));
  if (it == s.other_statements.end()) {
    ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(s.db, sql, "writing"));
    it = s.other_statements.emplace(std::string(sql), std::move(st)).first;
  }
  SqlStatement& st = it->second;
  int i = 1;
  for (const SqlArg& a : args) {
    if (const int64_t* v = std::get_if<int64_t>(&a)) {
      st.BindInt64(i, *v);
    } else if (const std::string_view* t = std::get_if<std::string_view>(&a)) {
      st.BindText(i, *t);
    } else {
      st.BindNull(i);
    }
    ++i;
  }
  return st.Run();
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
