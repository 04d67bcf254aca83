// atr report FILE -o report.html [--leaks N] [--no-replay]
#include <cstdio>

#include "analysis/render/html_report.h"
#include "analysis/reports/frag_report.h"
#include "base/progress_line.h"
#include "base/status_macros.h"
#include "replayer/builtin_replay.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

// The frag report of the trace's built-in replay, running (and storing) a
// default one first when there is none, as `atr frag` does. A trace that
// cannot take a replay (read-only file, nothing to replay) still gets its
// report: one warning line, and the section says what to run.
absl::StatusOr<FragReport> ComputeFragWithReplay(const std::string& path, int64_t limit) {
  ATR_ASSIGN_OR_RETURN(int64_t id,
                       replay::EnsureBuiltinReplay(path, ProgressLine::StderrIsTerminal()));
  ATR_ASSIGN_OR_RETURN(TraceReader reader, TraceReader::Open(path));  // sees the stored replay
  return ComputeFrag(reader, {.replay_id = id, .limit = limit});
}

std::optional<FragReport> FragmentationFor(const std::string& path, int64_t limit) {
  absl::StatusOr<FragReport> frag = ComputeFragWithReplay(path, limit);
  if (frag.ok()) return *std::move(frag);
  std::fprintf(stderr, "atr: report: fragmentation causes left out: %s\n",
               std::string(frag.status().message()).c_str());
  return std::nullopt;
}

void RegisterReport(CLI::App& app) {
  struct Args {
    std::string path;
    std::string output;
    int64_t leaks = 10;
    bool no_replay = false;
  };
  auto* a = new Args();
  CLI::App* sub = app.add_subcommand(
      "report",
      "One self-contained HTML file: summary, timeline, stack depth, flame graphs, "
      "fragmentation causes, leaks and checks");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("-o,--output", a->output, "HTML file to write ('-': stdout)")->required();
  sub->add_option("--leaks", a->leaks, "Leaking stacks to list (0 = all; default 10)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-replay", a->no_replay,
                "Do not run a built-in replay when the trace has none (the fragmentation "
                "causes then say what to run)");
  SetBody(sub, [a] {
    HtmlReportOptions options;
    options.leak_limit = a->leaks;
    {
      absl::StatusOr<TraceReader> reader = TraceReader::Open(a->path);  // bad path: fail first
      if (!reader.ok()) return Fail(reader.status());
    }
    if (!a->no_replay) options.fragmentation = FragmentationFor(a->path, options.cause_limit);
    absl::StatusOr<TraceReader> reader = TraceReader::Open(a->path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<std::string> html = RenderHtmlReport(*reader, options);
    if (!html.ok()) return Fail(html.status());
    return WriteOutput(*html, a->output);
  });
}

const bool kRegistered = RegisterCommand(71, RegisterReport);

}  // namespace
}  // namespace atr::cli
