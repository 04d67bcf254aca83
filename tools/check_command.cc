// atr check FILE [--pid PID] [--json|--csv] [--limit N] [--no-leaks]
#include <optional>

#include "analysis/reports/replay_report.h"
#include "replayer/replay_engine.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

constexpr int kExitProblems = 3;

struct CheckArgs {
  std::string path;
  int32_t pid = 0;
  int limit = 20;
  ReportFlags flags;
  bool no_leaks = false;
};

int RunCheck(const CheckArgs& a) {
  absl::StatusOr<TraceReader> reader = TraceReader::Open(a.path);
  if (!reader.ok()) return Fail(reader.status());
  replay::EngineOptions o;
  if (a.pid != 0) o.pid = a.pid;
  o.report_leaks = !a.no_leaks;
  replay::ReplayEngine engine(&*reader, o, nullptr);
  if (absl::Status s = engine.Run(); !s.ok()) return Fail(s);
  const replay::ProblemLog& log = engine.problems();
  StackViews views(&*reader);
  std::string out;
  if (a.flags.json) {
    JsonWriter j;
    j.BeginObject();
    j.Key("events").Int(engine.events());
    if (absl::Status s = replay::WriteProblemsJson(j, log, &views, a.limit); !s.ok()) return Fail(s);
    j.EndObject();
    out = j.str() + "\n";
  } else {
    absl::StatusOr<std::string> text = a.flags.csv
                                           ? replay::RenderProblemsCsv(log, &views, a.limit)
                                           : replay::RenderProblemsText(log, &views, a.limit);
    if (!text.ok()) return Fail(text.status());
    out = *text;
  }
  if (int rc = WriteOutput(out, ""); rc != kExitOk) return rc;
  const int64_t found =
      log.misuse_total() + (a.no_leaks ? 0 : log.count(replay::ProblemKind::kLeak));
  return found > 0 ? kExitProblems : kExitOk;
}

void RegisterCheck(CLI::App& app) {
  auto* a = new CheckArgs();
  CLI::App* sub = app.add_subcommand(
      "check",
      "Find heap misuse in a trace: double frees, frees/reallocs of addresses never allocated, "
      "mismatched malloc/new/new[] families, sized deletes with the wrong size, munmap of "
      "unmapped ranges, leaks at exit; each with event, time, thread, address and stacks.\n"
      "Exit status: 0 no problems, 3 problems found, 1 error, 2 usage error.");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("--pid", a->pid, "Only this process (default: every process)");
  sub->add_option("--limit", a->limit,
                  "Problems (and leak stacks) listed in full (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  AddReportFlags(sub, &a->flags);
  sub->get_option("--json")->description("Machine-readable JSON (fields in docs/replay.md)");
  sub->add_flag("--no-leaks", a->no_leaks, "Do not report (or count) leaks");
  SetBody(sub, [a] { return RunCheck(*a); });
}

const bool kRegistered = RegisterCommand(22, RegisterCheck);

}  // namespace

}  // namespace atr::cli
