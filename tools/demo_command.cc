// atr demo [--dir DIR]: record the bundled example and explain it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "analysis/render/html_report.h"
#include "analysis/reports/frag_report.h"
#include "analysis/reports/info_report.h"
#include "analysis/reports/leaks_report.h"
#include "analysis/reports/replay_report.h"
#include "base/number_format.h"
#include "base/progress_line.h"
#include "recorder/collector/record_session.h"
#include "replayer/builtin_replay.h"
#include "replayer/compare.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

namespace fs = std::filesystem;

// The example binary ships next to atr: build/examples in the build tree,
// libexec/atr when installed.
absl::StatusOr<std::string> FindExample(const std::string& name) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const char* rel : {"../examples/", "../libexec/atr/"}) {
    fs::path p = exe.parent_path() / rel / ("atr-example-" + name);
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return absl::NotFoundError("cannot find the bundled example atr-example-" + name +
                             " next to atr (build the 'examples' targets)");
}

void Section(const char* title) { std::printf("\n== %s ==\n\n", title); }

}  // namespace

namespace {

void RegisterDemo(CLI::App& app) {
  auto* dir = new std::string("atr-demo");
  auto* requests = new int(20000);
  CLI::App* sub = app.add_subcommand(
      "demo",
      "Record the bundled example (a server that fragments and leaks), replay it through the "
      "built-in allocator and glibc, explain the fragmentation and write report.html");
  sub->add_option("--dir", *dir, "Where the demo writes its trace (default ./atr-demo)");
  sub->add_option("--requests", *requests, "Requests the example serves (default 20000)")
      ->check(CLI::Range(1, 10'000'000));
  SetBody(sub, [dir, requests] {
    absl::StatusOr<std::string> example = FindExample("session_server");
    if (!example.ok()) return Fail(example.status());
    std::error_code ec;
    fs::create_directories(*dir, ec);
    if (ec) return Fail("cannot create " + *dir + ": " + ec.message());
    RecordOptions o;
    o.output = (fs::path(*dir) / "demo.db").string();
    o.command = {*example, std::to_string(*requests)};
    o.overwrite = true;
    o.progress = ProgressLine::StderrIsTerminal();
    Section(absl::StrCat("atr record -o ", o.output, " -- session_server ", *requests).c_str());
    std::fflush(stdout);
    absl::StatusOr<RecordOutcome> rec = Record(o);
    if (!rec.ok()) return Fail(rec.status());
    std::printf("recorded %s events, %s allocations, %s stacks into %s (%s)\n",
                FormatCount(rec->stats.events).c_str(), FormatCount(rec->stats.acquisitions).c_str(),
                FormatCount(rec->stats.distinct_stacks).c_str(), o.output.c_str(),
                FormatBytes(rec->file_bytes).c_str());

    absl::StatusOr<TraceReader> reader = TraceReader::Open(o.output);
    if (!reader.ok()) return Fail(reader.status());
    Section(absl::StrCat("atr info ", o.output).c_str());
    absl::StatusOr<TraceInfo> info = ComputeInfo(*reader);
    if (!info.ok()) return Fail(info.status());
    std::fputs(RenderInfoText(*info).c_str(), stdout);

    Section(absl::StrCat("atr leaks ", o.output, " --limit 3").c_str());
    absl::StatusOr<LeakReport> leaks = ComputeLeaks(*reader, {.limit = 3});
    if (!leaks.ok()) return Fail(leaks.status());
    std::fputs(RenderLeaksText(*leaks).c_str(), stdout);

    // Replays are stored in the trace: frag and the report read them back.
    // The built-in one with a span snapshot (what frag explains) first.
    absl::StatusOr<int64_t> builtin = replay::EnsureBuiltinReplay(o.output, false);
    if (!builtin.ok()) return Fail(builtin.status());
    Section(absl::StrCat("atr compare ", o.output, " --allocators builtin,system").c_str());
    std::fflush(stdout);
    replay::CompareOptions compare;
    compare.allocators = {"builtin", "system"};
    compare.store = false;  // the built-in replay with its snapshot is stored already
    absl::StatusOr<std::vector<replay::CompareRow>> rows = replay::RunCompare(&*reader, compare);
    if (!rows.ok()) return Fail(rows.status());
    std::fputs(replay::RenderCompareText(*rows).c_str(), stdout);

    // The replays were written through another connection: reopen.
    reader = TraceReader::Open(o.output);
    if (!reader.ok()) return Fail(reader.status());
    Section(absl::StrCat("atr frag ", o.output, " --limit 3").c_str());
    FragOptions frag_options;
    frag_options.replay_id = *builtin;
    frag_options.limit = 3;
    absl::StatusOr<FragReport> frag = ComputeFrag(*reader, frag_options);
    if (!frag.ok()) return Fail(frag.status());
    std::fputs(RenderFragText(*frag).c_str(), stdout);

    std::string html_path = (fs::path(*dir) / "report.html").string();
    Section(absl::StrCat("atr report ", o.output, " -o ", html_path).c_str());
    absl::StatusOr<std::string> html = RenderHtmlReport(*reader);
    if (!html.ok()) return Fail(html.status());
    if (int rc = WriteOutput(*html, html_path); rc != kExitOk) return rc;
    std::printf("wrote %s: open it in a browser (self-contained, no network needed)\n",
                html_path.c_str());
    std::printf("\nThe trace is plain SQLite: sqlite3 %s 'SELECT op, count(*) FROM events GROUP BY op'\n",
                o.output.c_str());
    return rec->exit_code == 0 ? kExitOk : kExitFailure;
  });
}

const bool kRegistered = RegisterCommand(90, RegisterDemo);

}  // namespace

}  // namespace atr::cli
