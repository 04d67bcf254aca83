// atr info FILE [--json]
#include "analysis/reports/info_report.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterInfo(CLI::App& app) {
  auto* path = new std::string();
  auto* json = new bool(false);
  CLI::App* sub = app.add_subcommand("info", "Summarize a trace: command, events, peak, leaks");
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_flag("--json", *json, "Machine-readable output (fields in docs/queries.md)");
  SetBody(sub, [path, json] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<TraceInfo> info = ComputeInfo(*reader);
    if (!info.ok()) return Fail(info.status());
    return WriteOutput(*json ? RenderInfoJson(*info) : RenderInfoText(*info), "");
  });
}

const bool kRegistered = RegisterCommand(30, RegisterInfo);

}  // namespace

}  // namespace atr::cli
