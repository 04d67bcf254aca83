// atr sites -p BUILD_DIR [TRACE] [-o SITES_FILE] [-j N] [--unmatched] [--json|--csv]
// atr sites --from SITES_FILE TRACE
// atr sites TRACE [--unmatched]
//
// Scans the sources of a compilation database for allocation sites
// (analysis/sites/site_scanner.h) and stores them in the trace, where every
// report picks them up, or in a standalone sites file. docs/sites.md.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "analysis/reports/sites_report.h"
#include "analysis/sites/site_scanner.h"
#include "analysis/sites/site_store.h"
#include "base/json_writer.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

struct SitesArgs {
  std::string build_dir;
  std::string trace;
  std::string output;
  std::string from;
  int jobs = 0;
  bool unmatched = false;
  ReportFlags flags;
  bool list = false;
  bool quiet = false;
  int64_t limit = 20;
  std::vector<std::string> only;
};

std::string KindCounts(const std::vector<SourceSite>& sites) {
  std::map<std::string, int> counts;
  for (const SourceSite& s : sites) ++counts[std::string(SiteKindName(s.kind))];
  std::string out;
  for (const auto& [kind, n] : counts) absl::StrAppend(&out, out.empty() ? "" : ", ", kind, " ", n);
  return out;
}

int Run(const SitesArgs& a) {
  if (a.build_dir.empty() && a.from.empty() && a.trace.empty()) {
    return Fail("sites: give -p BUILD_DIR (to scan), --from SITES_FILE, or a TRACE");
  }
  if (!a.from.empty() && !a.build_dir.empty()) return Fail("sites: -p and --from exclude each other");
  if (!a.from.empty() && a.trace.empty()) return Fail("sites: --from needs a TRACE to attach to");
  if (a.unmatched && a.trace.empty()) return Fail("sites: --unmatched needs a TRACE");

  std::vector<SourceSite> sites;
  ScanInfo info;
  bool have_new_sites = false;
  std::string summary;
  if (!a.build_dir.empty()) {
    ScanOptions options;
    options.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    options.only_files = a.only;
    if (!a.quiet && isatty(STDERR_FILENO)) {
      options.progress = [](int done, int total, const std::string& file) {
        std::fprintf(stderr, "\r\033[K[%d/%d] %s", done, total, file.c_str());
        if (done == total) std::fputs("\r\033[K", stderr);
      };
    }
    absl::StatusOr<ScanResult> scan = ScanCompilationDatabase(a.build_dir, options);
    if (!scan.ok()) return Fail(absl::StrCat("sites: ", scan.status().message()));
    // One line per problem; the scan kept going.
    for (const ScanProblem& p : scan->problems) std::fprintf(stderr, "atr: sites: %s\n", p.message.c_str());
    sites = std::move(scan->sites);
    info = {scan->database, scan->files, scan->files_failed, scan->seconds};
    have_new_sites = true;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", scan->seconds);
    summary = absl::StrCat("Scanned ", scan->files, scan->files == 1 ? " file" : " files", " in ", secs,
                           " s", scan->files_failed > 0 ? absl::StrCat(" (", scan->files_failed, " with problems)") : "",
                           ": ", sites.size(), " sites", sites.empty() ? "" : " (" + KindCounts(sites) + ")",
                           "\n");
  } else if (!a.from.empty()) {
    absl::StatusOr<std::vector<SourceSite>> read = ReadSitesFile(a.from);
    if (!read.ok()) return Fail(absl::StrCat("sites: ", read.status().message()));
    sites = std::move(*read);
    info.database = a.from;
    have_new_sites = true;
    summary = absl::StrCat("Read ", sites.size(), " sites from ", a.from, "\n");
  }

  auto store = [&](const std::string& path) -> int {
    absl::StatusOr<StoreSummary> s = StoreSites(path, sites, info);
    if (!s.ok()) return Fail(absl::StrCat("sites: ", s.status().message()));
    if (s->is_trace) {
      absl::StrAppend(&summary, "Stored in ", path, ": ", s->matched_lines, " of ", s->frame_lines,
                      " recorded frame lines are a scanned site\n");
    } else {
      absl::StrAppend(&summary, "Stored in ", path, "\n");
    }
    return kExitOk;
  };
  if (have_new_sites) {
    if (!a.output.empty()) {
      if (int rc = store(a.output); rc != kExitOk) return rc;
    }
    if (!a.trace.empty()) {
      if (int rc = store(a.trace); rc != kExitOk) return rc;
    }
  }

  std::string out;
  if (a.unmatched) {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(a.trace);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<UnmatchedReport> r = ComputeUnmatched(*reader, {.limit = a.limit});
    if (!r.ok()) return Fail(r.status());
    out = a.flags.json  ? RenderUnmatchedJson(*r)
          : a.flags.csv ? RenderUnmatchedCsv(*r)
                        : summary + RenderUnmatchedText(*r);
  } else if (a.list || (!have_new_sites) || (a.trace.empty() && a.output.empty())) {
    // Listing: the fresh scan (no destination given), or what the trace holds.
    if (!have_new_sites) {
      absl::StatusOr<std::vector<SourceSite>> read = ReadSitesFile(a.trace);
      if (!read.ok()) return Fail(read.status());
      sites = std::move(*read);
      if (sites.empty() && a.flags.format() == OutputFormat::kText) {
        return WriteOutput(a.trace + " has no sites: run `atr sites -p BUILD_DIR " + a.trace + "`\n", "");
      }
    } else {
      // Ids as they would be stored.
      for (size_t i = 0; i < sites.size(); ++i) sites[i].id = static_cast<int64_t>(i + 1);
    }
    out = a.flags.json  ? RenderSitesJson(sites)
          : a.flags.csv ? RenderSitesCsv(sites)
                        : summary + RenderSitesText(sites);
  } else if (a.flags.format() != OutputFormat::kText) {
    // The scan's summary: one object, or a one-row CSV.
    ReportTable t({{"sites", Column::kCount},
                   {"files", Column::kCount},
                   {"files_failed", Column::kCount},
                   {"seconds", Column::kReal}});
    t.AddRow({Cell::Int(static_cast<int64_t>(sites.size())), Cell::Int(info.files),
              Cell::Int(info.files_failed), Cell::Real(info.seconds)});
    if (a.flags.csv) {
      out = t.RenderCsv();
    } else {
      JsonWriter j;
      j.BeginObject();
      t.WriteRowMembers(j, 0);
      j.EndObject();
      out = j.str() + "\n";
    }
  } else if (!a.quiet) {
    out = summary;
  }
  return WriteOutput(out, "");
}

void RegisterSites(CLI::App& app) {
  auto* a = new SitesArgs();
  CLI::App* sub = app.add_subcommand(
      "sites", "Scan the sources (compile_commands.json) for allocation sites and attach them to a trace");
  sub->add_option("trace", a->trace, "Trace to attach the sites to (or to read them from)");
  sub->add_option("-p,--build-dir", a->build_dir,
                  "Directory with compile_commands.json (or the file itself): scan its sources");
  sub->add_option("-o,--output", a->output, "Also store the sites in this standalone sites file");
  sub->add_option("--from", a->from, "Attach the sites of an earlier scan (a sites file or trace)");
  sub->add_option("-j,--jobs", a->jobs, "Files parsed at once (default: the number of cores)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--only", a->only, "Scan only files whose path contains this (repeatable)");
  sub->add_flag("--unmatched", a->unmatched, "List hot recorded sites the scan could not explain");
  sub->add_flag("--list", a->list, "List the sites");
  AddReportFlags(sub, &a->flags);
  sub->get_option("--json")->description("Machine-readable JSON (fields in docs/sites.md)");
  sub->add_option("--limit", a->limit, "Unmatched sites to list (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("-q,--quiet", a->quiet, "No progress and no summary");
  SetBody(sub, [a] { return Run(*a); });
}

const bool kRegistered = RegisterCommand(38, RegisterSites);

}  // namespace

}  // namespace atr::cli
