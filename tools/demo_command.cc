// atr demo [--dir DIR]: record the bundled example and explain it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "analysis/format/text_table.h"
#include "analysis/reports/info_report.h"
#include "analysis/reports/leaks_report.h"
#include "recorder/collector/progress_line.h"
#include "recorder/collector/record_session.h"
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
      "demo", "Record the bundled example (a server that fragments and leaks) and explain it");
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

    Section(absl::StrCat("atr leaks ", o.output).c_str());
    absl::StatusOr<LeakReport> leaks = ComputeLeaks(*reader, {.limit = 5});
    if (!leaks.ok()) return Fail(leaks.status());
    std::fputs(RenderLeaksText(*leaks).c_str(), stdout);
    std::printf("\nThe trace is plain SQLite: sqlite3 %s 'SELECT op, count(*) FROM events GROUP BY op'\n",
                o.output.c_str());
    return rec->exit_code == 0 ? kExitOk : kExitFailure;
  });
}

const bool kRegistered = RegisterCommand(90, RegisterDemo);

}  // namespace

}  // namespace atr::cli
