#include "db/trace_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "db/json_strings.h"
#include "db/event_log_sql.h"
#include "db/schema.h"
#include "db/sqlite.h"

namespace atr {

using db_internal::SqlDatabase;
using db_internal::SqlStatement;

namespace {

// Deepest stack walked before calling the trie damaged (a cycle).
constexpr int kMaxStackDepth = 100000;
// Events are scanned in page order: mapping the file saves a copy per page.
constexpr int64_t kMmapBytes = int64_t{1} << 30;

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool NonEmptyFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

// Checks what can be told from the file itself, before SQLite sees it, so
// the common mistakes get a precise message rather than SQLite's generic
// "file is not a database".
absl::Status CheckFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not an atr trace"));
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  unsigned char h[100];
  ssize_t n = pread(fd, h, sizeof h, 0);
  close(fd);
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": empty file, not an atr trace"));
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  if (n < 16 || std::memcmp(h, kMagic, 16) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an atr trace (not a SQLite database)"));
  }
  if (n < static_cast<ssize_t>(sizeof h)) {
    return absl::DataLossError(absl::StrCat(path, ": truncated: only ", n, " bytes"));
  }
  // A killed writer may have written the new header before the pages it
  // counts; its journal restores the old size, so only judge without one.
  if (NonEmptyFile(path + "-journal") || NonEmptyFile(path + "-wal")) return absl::OkStatus();
  uint32_t page_size = (uint32_t{h[16]} << 8) | h[17];
  if (page_size == 1) page_size = 65536;
  uint32_t pages = Be32(h + 28);
  // The header's page count is only valid when the two counters agree.
  if (pages != 0 && Be32(h + 24) == Be32(h + 92)) {
    uint64_t expected = uint64_t{pages} * page_size;
    if (static_cast<uint64_t>(st.st_size) < expected) {
      return absl::DataLossError(absl::StrCat(path, ": truncated: ", st.st_size, " of ", expected,
                                              " bytes (was it cut short while being copied?)"));
    }
  }
  return absl::OkStatus();
}

// The first read of a trace: schema_version, with SQLite's raw result code
// so a hot journal can be told from real errors.
struct VersionProbe {
  int rc = SQLITE_OK;
  bool found = false;
  std::string version;
  std::string message;
};

VersionProbe ProbeVersion(sqlite3* db) {
  VersionProbe p;
  sqlite3_stmt* st = nullptr;
  p.rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
                            nullptr);
  if (p.rc == SQLITE_OK) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      p.found = true;
      const unsigned char* t = sqlite3_column_text(st, 0);
      p.version = t != nullptr ? reinterpret_cast<const char*>(t) : "";
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
    p.rc = rc;
  }
  if (p.rc != SQLITE_OK) p.message = sqlite3_errmsg(db);
  sqlite3_finalize(st);
  return p;
}

// Rolls back what a killed writer left unfinished, the way any SQLite
// client opening the file for writing would.
absl::Status RecoverHotJournal(const std::string& path) {
  if (access(path.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": left unfinished by a killed writer, and not writable so its journal cannot be "
              "rolled back; copy the trace and its -journal file somewhere writable"));
  }
  ATR_ASSIGN_OR_RETURN(SqlDatabase rw, SqlDatabase::Open(path, SQLITE_OPEN_READWRITE));
  return rw.Exec("SELECT count(*) FROM sqlite_schema", "rolling back an unfinished write");
}

// Runs `sql` and calls fn(statement) on each row; fn returns a Status, and
// the first error stops the walk. The one prepare-step loop of the reader.
template <typename Fn>
absl::Status ForEachRow(const SqlDatabase& db, std::string_view sql, std::string_view what,
                        Fn fn) {
  ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(db, sql, what));
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    ATR_RETURN_IF_ERROR(fn(st));
  }
}

// Every row of `sql`, each decoded by decode(statement, &row) -> Status.
template <typename Row, typename Decode>
absl::StatusOr<std::vector<Row>> ReadRows(const SqlDatabase& db, std::string_view sql,
                                          std::string_view what, Decode decode) {
  std::vector<Row> out;
  ATR_RETURN_IF_ERROR(ForEachRow(db, sql, what, [&](const SqlStatement& st) {
    Row r{};
    ATR_RETURN_IF_ERROR(decode(st, &r));
    out.push_back(std::move(r));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace

struct TraceReader::State {
  SqlDatabase db;
  int schema_version = 0;
  bool complete = false;
  std::map<std::string, std::string> meta;
  std::vector<EventCursor::ThreadKey> threads;  // by threads.id
  absl::flat_hash_map<int32_t, std::vector<int64_t>> threads_by_pid;

  std::optional<std::string> stack_stats_from_pairs;  // set when there is no stack_stats

  // Stack walk caches.
  SqlStatement node_query, frame_query, inline_query;
  absl::flat_hash_map<StackId, std::pair<StackId, int64_t>> nodes;  // id -> (parent, frame)
  absl::node_hash_map<int64_t, Frame> frames;                       // stable addresses

  bool HasTable(std::string_view name) const {
    absl::StatusOr<SqlStatement> q = SqlStatement::Prepare(
        db, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?1", "checking the schema");
    if (!q.ok()) return false;
    q->BindText(1, name);
    absl::StatusOr<bool> found = q->Step();
    return found.ok() && *found;
  }

  absl::Status Load() {
    for (const char* table : db_internal::kRequiredTables) {
      if (!HasTable(table)) {
        return absl::DataLossError(
            absl::StrCat(db.path(), ": damaged atr trace (no table ", table, ")"));
      }
    }
    ATR_RETURN_IF_ERROR(
        ForEachRow(db, "SELECT key, value FROM meta", "reading meta", [&](const SqlStatement& m) {
          meta[m.ColumnText(0)] = m.ColumnText(1);
          return absl::OkStatus();
        }));
    complete = meta["complete"] == "1";
    if (!HasTable("stack_stats")) {
      int64_t peak_seq = 0;
      (void)absl::SimpleAtoi(meta["alloc_peak_live_seq"], &peak_seq);
      stack_stats_from_pairs = StackStatsFromPairsSql(peak_seq);
    }
    ATR_RETURN_IF_ERROR(ForEachRow(
        db, "SELECT id, pid, tid FROM threads", "reading threads",
        [&](const SqlStatement& t) {
          int64_t id = t.ColumnInt64(0);
          if (id < 0 || id > (int64_t{1} << 26)) {
            return absl::DataLossError(
                absl::StrCat(db.path(), ": damaged trace (thread id ", id, ")"));
          }
          if (threads.size() <= static_cast<size_t>(id)) threads.resize(id + 1, {0, 0});
          auto pid = static_cast<int32_t>(t.ColumnInt64(1));
          threads[id] = {pid, static_cast<int32_t>(t.ColumnInt64(2))};
          threads_by_pid[pid].push_back(id);
          return absl::OkStatus();
        }));
    ATR_ASSIGN_OR_RETURN(node_query,
                         SqlStatement::Prepare(db, "SELECT parent, frame FROM stacks WHERE id=?1",
                                               "reading stacks"));
    ATR_ASSIGN_OR_RETURN(frame_query,
                         SqlStatement::Prepare(db,
                                               "SELECT module_id, rel_pc, function, file, line, "
                                               "column, frame_size, dynamic_frame, call_insn FROM frames "
                                               "WHERE id=?1",
                                               "reading frames"));
    ATR_ASSIGN_OR_RETURN(inline_query,
                         SqlStatement::Prepare(db,
                                               "SELECT depth, function, file, line, column FROM "
                                               "inline_frames WHERE frame_id=?1 ORDER BY depth",
                                               "reading inline frames"));
    return absl::OkStatus();
  }
};

TraceReader::TraceReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
TraceReader::TraceReader(TraceReader&&) noexcept = default;
TraceReader& TraceReader::operator=(TraceReader&&) noexcept = default;
TraceReader::~TraceReader() = default;

absl::StatusOr<TraceReader> TraceReader::Open(const std::string& path) {
  ATR_RETURN_IF_ERROR(CheckFile(path));
  auto state = std::make_unique<State>();
  VersionProbe probe;
  for (int attempt = 0;; ++attempt) {
    ATR_ASSIGN_OR_RETURN(state->db, SqlDatabase::Open(path, SQLITE_OPEN_READONLY));
    probe = ProbeVersion(state->db.get());
    if (probe.rc != SQLITE_READONLY_ROLLBACK || attempt > 0) break;
    state->db = SqlDatabase();
    ATR_RETURN_IF_ERROR(RecoverHotJournal(path));
  }
  switch (probe.rc & 0xff) {
    case SQLITE_OK:
      break;
    case SQLITE_NOTADB:
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not an atr trace (not a SQLite database)"));
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(path, ": corrupt trace (", probe.message, ")"));
    case SQLITE_ERROR:
      if (probe.message.find("no such table") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": not an atr trace (no meta table)"));
      }
      [[fallthrough]];
    default:
      return db_internal::SqliteError(state->db.get(), probe.rc, path, "reading meta");
  }
  if (!probe.found) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an atr trace (meta has no schema_version)"));
  }
  int version = 0;
  if (!absl::SimpleAtoi(probe.version, &version) || version < 1) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not an atr trace (schema_version '",
                                                   probe.version, "')"));
  }
  ATR_RETURN_IF_ERROR(db_internal::CheckSchemaVersion(path, version));
  state->schema_version = version;
  ATR_RETURN_IF_ERROR(state->db.Exec(
      absl::StrCat("PRAGMA query_only=1; PRAGMA mmap_size=", kMmapBytes, ";"), "configuring"));
  ATR_RETURN_IF_ERROR(state->Load());
  return TraceReader(std::move(state));
}

const std::string& TraceReader::path() const { return state_->db.path(); }
const SqlDatabase& TraceReader::database() const { return state_->db; }
int TraceReader::schema_version() const { return state_->schema_version; }
bool TraceReader::complete() const { return state_->complete; }
const std::map<std::string, std::string>& TraceReader::meta() const { return state_->meta; }

std::optional<std::string> TraceReader::Meta(std::string_view key) const {
  auto it = state_->meta.find(std::string(key));
  if (it == state_->meta.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> TraceReader::MetaInt(std::string_view key) const {
  std::optional<std::string> v = Meta(key);
  int64_t n;
  if (!v || !absl::SimpleAtoi(*v, &n)) return std::nullopt;
  return n;
}

std::optional<std::vector<std::string>> TraceReader::MetaList(std::string_view key) const {
  std::optional<std::string> v = Meta(key);
  if (!v) return std::nullopt;
  absl::StatusOr<std::vector<std::string>> list = db_internal::DecodeJsonStrings(*v);
  if (!list.ok()) return std::nullopt;
  return *std::move(list);
}

namespace {

std::optional<int32_t> OptInt32(const SqlStatement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return static_cast<int32_t>(st.ColumnInt64(col));
}

std::optional<uint64_t> OptU64(const SqlStatement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return static_cast<uint64_t>(st.ColumnInt64(col));
}

}  // namespace

absl::StatusOr<std::vector<ProcessRow>> TraceReader::Processes() const {
  return ReadRows<ProcessRow>(
      state_->db,
      "SELECT id, pid, image, ppid, exe, argv, cwd, started_seq, ended_seq, started_ns, ended_ns, "
      "exit_status, exit_signal FROM processes ORDER BY id",
      "reading processes", [this](const SqlStatement& st, ProcessRow* p) {
        p->id = st.ColumnInt64(0);
        p->pid = static_cast<int32_t>(st.ColumnInt64(1));
        p->image = static_cast<int32_t>(st.ColumnInt64(2));
        p->ppid = OptInt32(st, 3);
        p->exe = st.ColumnOptText(4);
        if (!st.IsNull(5)) {
          absl::StatusOr<std::vector<std::string>> argv =
              db_internal::DecodeJsonStrings(st.ColumnText(5));
          if (!argv.ok()) {
            return absl::DataLossError(
                absl::StrCat(path(), ": process ", p->pid, ": argv is not a JSON string array"));
          }
          p->argv = *std::move(argv);
        }
        p->cwd = st.ColumnOptText(6);
        p->started_seq = st.ColumnOptInt64(7);
        p->ended_seq = st.ColumnOptInt64(8);
        p->started_ns = st.ColumnOptInt64(9);
        p->ended_ns = st.ColumnOptInt64(10);
        p->exit_status = OptInt32(st, 11);
        p->exit_signal = OptInt32(st, 12);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<ThreadRow>> TraceReader::Threads() const {
  return ReadRows<ThreadRow>(
      state_->db,
      "SELECT id, pid, tid, name, creator_tid, started_seq, ended_seq, stack_lo, stack_hi "
      "FROM threads ORDER BY id",
      "reading threads", [](const SqlStatement& st, ThreadRow* t) {
        t->id = st.ColumnInt64(0);
        t->pid = static_cast<int32_t>(st.ColumnInt64(1));
        t->tid = static_cast<int32_t>(st.ColumnInt64(2));
        t->name = st.ColumnOptText(3);
        t->creator_tid = OptInt32(st, 4);
        t->started_seq = st.ColumnOptInt64(5);
        t->ended_seq = st.ColumnOptInt64(6);
        t->stack_lo = OptU64(st, 7);
        t->stack_hi = OptU64(st, 8);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<ModuleRow>> TraceReader::Modules() const {
  return ReadRows<ModuleRow>(
      state_->db,
      "SELECT id, pid, path, build_id, bias, lo, hi, loaded_seq, unloaded_seq FROM modules "
      "ORDER BY id",
      "reading modules", [](const SqlStatement& st, ModuleRow* m) {
        m->id = st.ColumnInt64(0);
        m->pid = static_cast<int32_t>(st.ColumnInt64(1));
        m->path = st.ColumnText(2);
        m->build_id = st.ColumnOptText(3);
        m->bias = static_cast<uint64_t>(st.ColumnInt64(4));
        m->lo = static_cast<uint64_t>(st.ColumnInt64(5));
        m->hi = static_cast<uint64_t>(st.ColumnInt64(6));
        m->loaded_seq = st.ColumnOptInt64(7);
        m->unloaded_seq = st.ColumnOptInt64(8);
        return absl::OkStatus();
      });
}

namespace {

// Columns 0-8: module_id, rel_pc, function, file, line, column, frame_size,
// dynamic_frame, call_insn.
void ReadFrameColumns(const SqlStatement& st, int first, FrameRow* f) {
  f->module_id = st.ColumnInt64(first);  // NULL reads as 0
  f->rel_pc = static_cast<uint64_t>(st.ColumnInt64(first + 1));
  f->function = st.ColumnOptText(first + 2);
  f->file = st.ColumnOptText(first + 3);
  f->line = OptInt32(st, first + 4);
  f->column = OptInt32(st, first + 5);
  f->frame_size = OptInt32(st, first + 6);
  if (std::optional<int32_t> d = OptInt32(st, first + 7)) f->dynamic_frame = *d != 0;
  f->call_insn = st.ColumnOptText(first + 8);
}

}  // namespace

absl::StatusOr<std::vector<FrameRow>> TraceReader::Frames() const {
  return ReadRows<FrameRow>(
      state_->db,
      "SELECT id, module_id, rel_pc, function, file, line, column, frame_size, dynamic_frame, "
      "call_insn FROM frames ORDER BY id",
      "reading frames", [](const SqlStatement& st, FrameRow* f) {
        f->id = st.ColumnInt64(0);
        ReadFrameColumns(st, 1, f);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<StackNodeRow>> TraceReader::StackNodes() const {
  return ReadRows<StackNodeRow>(
      state_->db, "SELECT id, parent, frame FROM stacks ORDER BY id", "reading stacks",
      [](const SqlStatement& st, StackNodeRow* n) {
        *n = {st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2)};
        return absl::OkStatus();
      });
}

bool TraceReader::HasTable(std::string_view name) const { return state_->HasTable(name); }
std::string TraceReader::WithStackStats(std::string_view sql) const {
  if (!state_->stack_stats_from_pairs) return std::string(sql);
  const std::string from = "FROM " + *state_->stack_stats_from_pairs;
  return absl::StrReplaceAll(std::string(sql), {{"FROM stack_stats", from}});
}

std::string StackStatsFromPairsSql(int64_t peak_seq) {
  const std::string p = absl::StrCat(peak_seq);
  return absl::StrCat(
      "(SELECT coalesce(a.stack, 0) AS stack, count(*) AS calls, sum(a.size) AS bytes, "
      "sum(CASE WHEN a.seq <= ", p, " AND (a.free_seq IS NULL OR a.free_seq > ", p,
      ") THEN a.size ELSE 0 END) AS peak_bytes, "
      "sum(a.free_seq IS NULL) AS leaked, "
      "sum(CASE WHEN a.free_seq IS NULL THEN a.size ELSE 0 END) AS leaked_bytes, "
      "min(CASE WHEN a.free_seq IS NULL THEN a.seq END) AS first_leak_seq "
      "FROM (SELECT a.seq, a.size, a.stack, " ATR_SQL_FREE_SEQ("a") " AS free_seq "
      "FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a") ") a GROUP BY 1)");
}

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

absl::StatusOr<const Frame*> TraceReader::GetFrame(int64_t frame_id) {
  State& s = *state_;
  if (auto it = s.frames.find(frame_id); it != s.frames.end()) return &it->second;
  s.frame_query.BindInt64(1, frame_id);
  ATR_ASSIGN_OR_RETURN(bool row, s.frame_query.Step());
  if (!row) {
    return absl::DataLossError(
        absl::StrCat(path(), ": damaged trace (frame ", frame_id, " is not in frames)"));
  }
  Frame f;
  f.row.id = frame_id;
  ReadFrameColumns(s.frame_query, 0, &f.row);
  s.frame_query.Reset();
  s.inline_query.BindInt64(1, frame_id);
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool irow, s.inline_query.Step());
    if (!irow) break;
    InlineFrameRow r;
    r.depth = static_cast<int32_t>(s.inline_query.ColumnInt64(0));
    r.function = s.inline_query.ColumnOptText(1);
    r.file = s.inline_query.ColumnOptText(2);
    r.line = OptInt32(s.inline_query, 3);
    r.column = OptInt32(s.inline_query, 4);
    f.inlined.push_back(std::move(r));
  }
  return &s.frames.emplace(frame_id, std::move(f)).first->second;
}

absl::StatusOr<std::vector<const Frame*>> TraceReader::StackFrames(StackId id) {
  State& s = *state_;
  std::vector<const Frame*> out;
  for (StackId node = id; node != 0;) {
    if (out.size() >= static_cast<size_t>(kMaxStackDepth)) {
      return absl::DataLossError(
          absl::StrCat(path(), ": damaged trace (stack ", id, " loops or is deeper than ",
                       kMaxStackDepth, " frames)"));
    }
    auto it = s.nodes.find(node);
    if (it == s.nodes.end()) {
      s.node_query.BindInt64(1, node);
      ATR_ASSIGN_OR_RETURN(bool row, s.node_query.Step());
      if (!row) {
        return absl::DataLossError(
            absl::StrCat(path(), ": damaged trace (stack node ", node, " is not in stacks)"));
      }
      std::pair<StackId, int64_t> v{s.node_query.ColumnInt64(0), s.node_query.ColumnInt64(1)};
      s.node_query.Reset();
      it = s.nodes.emplace(node, v).first;
    }
    ATR_ASSIGN_OR_RETURN(const Frame* f, GetFrame(it->second.second));
    out.push_back(f);
    node = it->second.first;
  }
  return out;
}

// --- cursors ---

EventCursor::EventCursor(std::unique_ptr<SqlStatement> st, const std::vector<ThreadKey>* threads)
    : st_(std::move(st)), threads_(threads) {}
EventCursor::EventCursor(EventCursor&&) noexcept = default;
EventCursor& EventCursor::operator=(EventCursor&&) noexcept = default;
EventCursor::~EventCursor() = default;

bool EventCursor::Next(EventRow* row) {
  if (done_) return false;
  sqlite3_stmt* st = st_->get();
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    done_ = true;
    if (rc != SQLITE_DONE) status_ = st_->ErrorFor(rc);
    return false;
  }
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
  if (done_) return false;
  sqlite3_stmt* st = st_->get();
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    done_ = true;
    if (rc != SQLITE_DONE) status_ = st_->ErrorFor(rc);
    return false;
  }
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
