// Opening a trace: what the file itself says before SQLite sees it, the
// rollback of a killed writer's hot journal, the schema check, and meta.
// Row readers are in trace_reader_rows.cc, cursors in
// trace_reader_cursors.cc.
#include "db/trace_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "db/event_log_sql.h"
#include "db/json_strings.h"
#include "db/schema.h"
#include "db/sqlite.h"
#include "db/trace_reader_state.h"

namespace atr {

using db_internal::ForEachRow;
using db_internal::SqlDatabase;
using db_internal::SqlStatement;

namespace {

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

}  // namespace

bool TraceReader::State::HasTable(std::string_view name) const {
  absl::StatusOr<SqlStatement> q = SqlStatement::Prepare(
      db, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?1", "checking the schema");
  if (!q.ok()) return false;
  q->BindText(1, name);
  absl::StatusOr<bool> found = q->Step();
  return found.ok() && *found;
}

absl::Status TraceReader::State::Load() {
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

}  // namespace atr
