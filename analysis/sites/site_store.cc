#include "analysis/sites/site_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "analysis/sites/site_matcher.h"
#include "db/query.h"
#include "db/sqlite.h"
#include "db/table_transaction.h"

namespace atr {
namespace {

using db_internal::SqlDatabase;
using db_internal::SqlStatement;

constexpr char kSelectSites[] =
    "SELECT id, file, line, column, end_line, function, function_line, function_end_line, kind, "
    "type, type_size, bytes, in_loop, template, detail FROM sites ORDER BY id";

// Decodes a kSelectSites row from any cursor-like source.
template <typename Row>
SourceSite DecodeSite(const Row& r) {
  SourceSite s;
  s.id = r.Int(0);
  s.file = r.Text(1);
  s.line = static_cast<int32_t>(r.Int(2));
  s.column = static_cast<int32_t>(r.Int(3));
  s.end_line = static_cast<int32_t>(r.Int(4));
  s.function = r.Text(5);
  s.function_line = static_cast<int32_t>(r.Int(6));
  s.function_end_line = static_cast<int32_t>(r.Int(7));
  s.kind = SiteKindFromName(r.Text(8)).value_or(SiteKind::kMalloc);
  s.type = r.Text(9);
  if (!r.IsNull(10)) s.type_size = r.Int(10);
  if (!r.IsNull(11)) s.bytes = r.Int(11);
  s.in_loop = r.Int(12) != 0;
  s.templ = SiteTemplateFromName(r.Text(13));
  s.detail = r.Text(14);
  return s;
}

// SqlStatement with the QueryCursor-shaped accessors DecodeSite uses.
struct StatementRow {
  const SqlStatement& st;
  int64_t Int(int c) const { return st.ColumnInt64(c); }
  std::string Text(int c) const { return st.IsNull(c) ? std::string() : st.ColumnText(c); }
  bool IsNull(int c) const { return st.IsNull(c); }
};

absl::Status CreateEmptyPrivateFile(const std::string& path) {
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot create: ", strerror(errno)));
  fchmod(fd, 0600);
  close(fd);
  return absl::OkStatus();
}

absl::Status InsertSites(SqlDatabase& db, const std::vector<SourceSite>& sites) {
  ATR_ASSIGN_OR_RETURN(
      SqlStatement ins,
      SqlStatement::Prepare(db,
                            "INSERT INTO sites(id, file, line, column, end_line, function, "
                            "function_line, function_end_line, kind, type, type_size, bytes, "
                            "in_loop, template, detail) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                            "storing sites"));
  auto text_or_null = [&](int i, const std::string& s) {
    if (s.empty()) ins.BindNull(i); else ins.BindText(i, s);
  };
  for (size_t i = 0; i < sites.size(); ++i) {
    const SourceSite& s = sites[i];
    ins.BindInt64(1, static_cast<int64_t>(i + 1));
    ins.BindText(2, s.file);
    ins.BindInt64(3, s.line);
    ins.BindInt64(4, s.column);
    ins.BindInt64(5, std::max(s.end_line, s.line));
    text_or_null(6, s.function);
    ins.BindInt64(7, s.function_line);
    ins.BindInt64(8, s.function_end_line);
    ins.BindText(9, SiteKindName(s.kind));
    text_or_null(10, s.type);
    ins.BindOptInt64(11, s.type_size);
    ins.BindOptInt64(12, s.bytes);
    ins.BindInt64(13, s.in_loop ? 1 : 0);
    text_or_null(14, std::string(SiteTemplateName(s.templ)));
    text_or_null(15, s.detail);
    ATR_RETURN_IF_ERROR(ins.Run());
  }
  return absl::OkStatus();
}

// Matches every symbolized frame line of the trace (frames rows at depth 0,
// inline_frames at their depth) and fills site_matches.
absl::Status MatchFrames(SqlDatabase& db, const std::vector<SourceSite>& stored, StoreSummary* summary) {
  std::vector<SourceSite> copy = stored;
  for (size_t i = 0; i < copy.size(); ++i) copy[i].id = static_cast<int64_t>(i + 1);
  SiteMatcher matcher(std::move(copy));
  ATR_ASSIGN_OR_RETURN(
      SqlStatement ins,
      SqlStatement::Prepare(db, "INSERT INTO site_matches(frame_id, depth, how, site_id) VALUES(?1, ?2, ?3, ?4)",
                            "storing site matches"));
  ATR_ASSIGN_OR_RETURN(
      SqlStatement lines,
      SqlStatement::Prepare(db,
                            "SELECT id, 0, file, line, column, function FROM frames "
                            "WHERE file IS NOT NULL AND line > 0 "
                            "UNION ALL SELECT frame_id, depth, file, line, column, function "
                            "FROM inline_frames WHERE file IS NOT NULL AND line > 0",
                            "reading frames"));
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool row, lines.Step());
    if (!row) break;
    std::string file = lines.ColumnText(2);
    std::string function = lines.IsNull(5) ? std::string() : lines.ColumnText(5);
    FrameLine l{file, static_cast<int32_t>(lines.ColumnInt64(3)),
                static_cast<int32_t>(lines.ColumnInt64(4)), function};
    ++summary->frame_lines;
    auto add = [&](const SourceSite* s, std::string_view how) -> absl::Status {
      ins.BindInt64(1, lines.ColumnInt64(0));
      ins.BindInt64(2, lines.ColumnInt64(1));
      ins.BindText(3, how);
      ins.BindInt64(4, s->id);
      return ins.Run();
    };
    if (const SourceSite* s = matcher.MatchHeap(l)) {
      ++summary->matched_lines;
      ATR_RETURN_IF_ERROR(add(s, "line"));
    }
    if (const SourceSite* s = matcher.MatchFunction(l)) {
      ++summary->function_matches;
      ATR_RETURN_IF_ERROR(add(s, "function"));
    }
  }
  return absl::OkStatus();
}

absl::Status SetMeta(SqlDatabase& db, const std::vector<std::pair<std::string, std::string>>& kv) {
  ATR_ASSIGN_OR_RETURN(SqlStatement st,
                       SqlStatement::Prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
                                             "writing meta"));
  for (const auto& [k, v] : kv) {
    st.BindText(1, k);
    st.BindText(2, v);
    ATR_RETURN_IF_ERROR(st.Run());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StoreSummary> StoreSites(const std::string& path, const std::vector<SourceSite>& sites,
                                        const ScanInfo& info) {
  StoreSummary summary;
  struct stat st {};
  bool exists = stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(path + ": is a directory");
  if (!exists) ATR_RETURN_IF_ERROR(CreateEmptyPrivateFile(path));
  if (exists && st.st_size > 0) {
    // A trace is validated (and a killed writer's journal rolled back) the
    // way every report opens it; anything else must be a sites file.
    absl::StatusOr<TraceReader> reader = TraceReader::Open(path);
    if (reader.ok()) {
      summary.is_trace = true;
    } else {
      ATR_ASSIGN_OR_RETURN(SqlDatabase probe, SqlDatabase::Open(path, SQLITE_OPEN_READONLY));
      absl::StatusOr<bool> has_sites = probe.HasTable("sites");
      if (!has_sites.ok() || !*has_sites) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": neither an atr trace nor an atr sites file (", reader.status().message(), ")"));
      }
    }
  }
  // A standalone sites file keeps its scan facts in a meta table of its own.
  ATR_ASSIGN_OR_RETURN(
      TableTransaction t,
      TableTransaction::Begin(path, {TableGroup::kMeta, TableGroup::kSourceSites}));
  SqlDatabase& db = t.database();
  ATR_RETURN_IF_ERROR(db.Exec("DELETE FROM site_matches; DELETE FROM sites", "replacing sites"));
  ATR_RETURN_IF_ERROR(InsertSites(db, sites));
  summary.sites = static_cast<int64_t>(sites.size());
  if (summary.is_trace) ATR_RETURN_IF_ERROR(MatchFrames(db, sites, &summary));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", info.seconds);
  std::vector<std::pair<std::string, std::string>> meta = {
      {"sites_database", info.database},
      {"sites_files", absl::StrCat(info.files)},
      {"sites_files_failed", absl::StrCat(info.files_failed)},
      {"sites_scan_seconds", seconds},
      {"sites_count", absl::StrCat(summary.sites)},
  };
  if (summary.is_trace) {
    meta.emplace_back("sites_matched_lines", absl::StrCat(summary.matched_lines));
  } else {
    meta.emplace_back("sites_file", "1");
  }
  ATR_RETURN_IF_ERROR(SetMeta(db, meta));
  ATR_RETURN_IF_ERROR(t.Commit());
  return summary;
}

absl::StatusOr<std::vector<SourceSite>> ReadSites(const TraceReader& reader) {
  std::vector<SourceSite> out;
  if (!reader.HasTable("sites")) return out;
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kSelectSites));
  while (q.Next()) out.push_back(DecodeSite(q));
  if (!q.status().ok()) return q.status();
  return out;
}

absl::StatusOr<std::vector<SourceSite>> ReadSitesFile(const std::string& path) {
  if (absl::StatusOr<TraceReader> reader = TraceReader::Open(path); reader.ok()) {
    return ReadSites(*reader);
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return absl::NotFoundError(path + ": no such file");
  ATR_ASSIGN_OR_RETURN(SqlDatabase db, SqlDatabase::Open(path, SQLITE_OPEN_READONLY));
  absl::StatusOr<bool> has = db.HasTable("sites");
  if (!has.ok() || !*has) return absl::InvalidArgumentError(path + ": not an atr sites file or trace");
  ATR_ASSIGN_OR_RETURN(SqlStatement q, SqlStatement::Prepare(db, kSelectSites, "reading sites"));
  std::vector<SourceSite> out;
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(DecodeSite(StatementRow{q}));
  }
  return out;
}

}  // namespace atr
