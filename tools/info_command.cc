// atr info FILE [--json|--csv]
#include "analysis/reports/info_report.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterInfo(CLI::App& app) {
  auto* path = new std::string();
  auto* flags = new ReportFlags();
  CLI::App* sub = app.add_subcommand("info", "Summarize a trace: command, events, peak, leaks");
  sub->add_option("trace", *path, "Trace file")->required();
  AddReportFlags(sub, flags);
  SetBody(sub, [path, flags] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<TraceInfo> info = ComputeInfo(*reader);
    if (!info.ok()) return Fail(info.status());
    return WriteOutput(flags->json  ? RenderInfoJson(*info)
                       : flags->csv ? RenderInfoCsv(*info)
                                    : RenderInfoText(*info),
                       "");
  });
}

const bool kRegistered = RegisterCommand(30, RegisterInfo);

}  // namespace

}  // namespace atr::cli
