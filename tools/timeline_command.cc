// atr timeline FILE [--points N] [--json|--csv]
#include "analysis/reports/timeline_report.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

void RegisterTimeline(CLI::App& app) {
  auto* path = new std::string();
  auto* flags = new ReportFlags();
  auto* points = new int(40);
  CLI::App* sub = app.add_subcommand(
      "timeline", "Live heap bytes over time, beside modelled and real resident bytes of replays");
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_option("--points", *points, "About how many moments to show (default 40)")
      ->check(CLI::Range(2, 100000));
  AddReportFlags(sub, flags);
  SetBody(sub, [path, flags, points] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<ReportTable> t = ComputeTimelineTable(*reader, *points);
    if (!t.ok()) return Fail(t.status());
    return WriteOutput(t->Render(flags->format()), "");
  });
}

const bool kRegistered = RegisterCommand(36, RegisterTimeline);

}  // namespace
}  // namespace atr::cli
