// atr compare FILE [--allocators LIST] [--pid PID] [--threads single|real] [--json|--csv] [--no-store]
#include <optional>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "analysis/reports/replay_report.h"
#include "base/progress_line.h"
#include "replayer/compare.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

struct CompareArgs {
  std::string path;
  std::string allocators;
  int32_t pid = 0;
  std::string threads = "single";
  ReportFlags flags;
  bool no_store = false;
  bool quiet = false;
};

int RunCompareCommand(const CompareArgs& a) {
  absl::StatusOr<TraceReader> reader = TraceReader::Open(a.path);
  if (!reader.ok()) return Fail(reader.status());
  replay::CompareOptions o;
  if (!a.allocators.empty()) {
    o.allocators = absl::StrSplit(a.allocators, ',', absl::SkipWhitespace());
  }
  if (a.pid != 0) o.pid = a.pid;
  o.store = !a.no_store;
  o.real_threads = a.threads == "real";
  ProgressLine progress(!a.quiet && ProgressLine::StderrIsTerminal(), "comparing");
  int64_t step = 0;
  o.progress = [&](const std::string&, int64_t) { progress.Update(++step, 0); };
  absl::StatusOr<std::vector<replay::CompareRow>> rows = replay::RunCompare(&*reader, o);
  progress.Done();
  if (!rows.ok()) return Fail(rows.status());
  switch (a.flags.format()) {
    case OutputFormat::kJson: return WriteOutput(replay::RenderCompareJson(*rows), "");
    case OutputFormat::kCsv: return WriteOutput(replay::RenderCompareCsv(*rows), "");
    case OutputFormat::kText: break;
  }
  return WriteOutput(replay::RenderCompareText(*rows), "");
}

void RegisterCompare(CLI::App& app) {
  auto* a = new CompareArgs();
  CLI::App* sub = app.add_subcommand(
      "compare",
      "Replay a trace through several allocators and show them side by side: peak live, peak "
      "resident, fragmentation at peak, Johnstone & Wilson #3/#4, time-averaged waste, time");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("--allocators", a->allocators,
                  "Comma-separated list (default: " +
                      absl::StrJoin(replay::DefaultCompareAllocators(), ",") +
                      "); builtin:key=value:key=value for any built-in configuration");
  sub->add_option("--pid", a->pid, "Process to replay (default: the first one)");
  sub->add_option("--threads", a->threads, "Real allocators: single or real")
      ->check(CLI::IsMember({"single", "real"}));
  AddReportFlags(sub, &a->flags);
  sub->get_option("--json")->description("Machine-readable JSON (fields in docs/replay.md)");
  sub->add_flag("--no-store", a->no_store, "Do not write the replays into the trace");
  sub->add_flag("-q,--quiet", a->quiet, "No progress line");
  SetBody(sub, [a] { return RunCompareCommand(*a); });
}

const bool kRegistered = RegisterCommand(21, RegisterCompare);

}  // namespace

}  // namespace atr::cli
