// atr frag FILE [--replay ID] [--limit N] [--verify K] [-q] [--json | --csv]
#include "analysis/reports/frag_report.h"
#include "analysis/reports/whatif_report.h"
#include "base/progress_line.h"
#include "replayer/builtin_replay.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

struct FragArgs {
  std::string path;
  FragOptions options;
  int64_t verify = 0;
  bool quiet = false;
  ReportFlags report;
};

int RunFrag(FragArgs& a) {
  const bool show = !a.quiet && ProgressLine::StderrIsTerminal();
  if (!a.options.replay_id) {
    absl::StatusOr<int64_t> id = replay::EnsureBuiltinReplay(a.path, show);
    if (!id.ok()) return Fail(id.status());
    a.options.replay_id = *id;
  }
  absl::StatusOr<TraceReader> reader = TraceReader::Open(a.path);
  if (!reader.ok()) return Fail(reader.status());
  absl::StatusOr<FragReport> r = ComputeFrag(*reader, a.options);
  if (!r.ok()) return Fail(r.status());
  if (a.verify > 0) {
    absl::Status s = VerifyPinningSites(a.path, a.verify, ProgressLines(show), &*r);
    if (!s.ok()) return Fail(s);
  }
  switch (a.report.format()) {
    case OutputFormat::kJson: return WriteOutput(RenderFragJson(*r), "");
    case OutputFormat::kCsv: return WriteOutput(RenderFragCsv(*r), "");
    case OutputFormat::kText: break;
  }
  return WriteOutput(RenderFragText(*r), "");
}

void RegisterFrag(CLI::App& app) {
  auto* a = new FragArgs();
  CLI::App* sub = app.add_subcommand(
      "frag", "Why resident memory is above live memory: breakdown and ranked causes");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("--replay", a->options.replay_id,
                  "Replay id to explain (default: the latest built-in replay of the program as "
                  "recorded; one is run and stored if there is none)");
  sub->add_option("--limit", a->options.limit, "Rows per section (default 10)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--verify", a->verify,
                  "Test the top K pinning sites (at most --limit): replay once per site with "
                  "that site segregated, rank by peak resident bytes saved")
      ->check(CLI::PositiveNumber);
  sub->add_flag("-q,--quiet", a->quiet, "No progress line");
  AddReportFlags(sub, &a->report);
  SetBody(sub, [a] { return RunFrag(*a); });
}

const bool kRegistered = RegisterCommand(34, RegisterFrag);

}  // namespace
}  // namespace atr::cli
