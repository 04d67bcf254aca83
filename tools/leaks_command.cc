// atr leaks FILE [--json] [--limit N]
#include "analysis/reports/leaks_report.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterLeaks(CLI::App& app) {
  auto* path = new std::string();
  auto* json = new bool(false);
  auto* options = new LeakOptions();
  CLI::App* sub = app.add_subcommand(
      "leaks", "Blocks never released, grouped by allocation stack, biggest first");
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_flag("--json", *json, "Machine-readable output (fields in docs/queries.md)");
  sub->add_option("--limit", options->limit, "Stacks to list (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  SetBody(sub, [path, json, options] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<LeakReport> r = ComputeLeaks(*reader, *options);
    if (!r.ok()) return Fail(r.status());
    return WriteOutput(*json ? RenderLeaksJson(*r) : RenderLeaksText(*r), "");
  });
}

const bool kRegistered = RegisterCommand(31, RegisterLeaks);

}  // namespace

}  // namespace atr::cli
