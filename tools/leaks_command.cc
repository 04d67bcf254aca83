// atr leaks FILE [--json|--csv] [--limit N]
#include "analysis/reports/leaks_report.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterLeaks(CLI::App& app) {
  auto* path = new std::string();
  auto* flags = new ReportFlags();
  auto* options = new LeakOptions();
  CLI::App* sub = app.add_subcommand(
      "leaks", "Blocks never released, grouped by allocation stack, biggest first");
  sub->add_option("trace", *path, "Trace file")->required();
  AddReportFlags(sub, flags);
  sub->add_option("--limit", options->limit, "Stacks to list (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  SetBody(sub, [path, flags, options] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<LeakReport> r = ComputeLeaks(*reader, *options);
    if (!r.ok()) return Fail(r.status());
    return WriteOutput(flags->json  ? RenderLeaksJson(*r)
                       : flags->csv ? RenderLeaksCsv(*r)
                                    : RenderLeaksText(*r),
                       "");
  });
}

const bool kRegistered = RegisterCommand(31, RegisterLeaks);

}  // namespace

}  // namespace atr::cli
