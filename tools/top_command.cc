// atr top FILE [--by calls|bytes|peak|leaked] [--limit N] [--json|--csv]
#include "analysis/reports/top_report.h"
#include "tools/command.h"

namespace atr::cli {

CLI::Option* AddRankByOption(CLI::App* sub, TopMetric* by, const std::string& help) {
  return sub->add_option("--by", *by, help)
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, TopMetric>{{"calls", TopMetric::kCalls},
                                           {"bytes", TopMetric::kBytes},
                                           {"peak", TopMetric::kPeak},
                                           {"leaked", TopMetric::kLeaked}},
          CLI::ignore_case));
}

namespace {

void RegisterTop(CLI::App& app) {
  auto* path = new std::string();
  auto* flags = new ReportFlags();
  auto* options = new TopOptions();
  CLI::App* sub = app.add_subcommand(
      "top", "Allocation sites ranked by calls, bytes, bytes live at the peak, or bytes leaked");
  sub->add_option("trace", *path, "Trace file")->required();
  AddRankByOption(sub, &options->by, "Ranking: calls, bytes (default), peak, leaked");
  sub->add_option("--limit", options->limit, "Sites to list (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  AddReportFlags(sub, flags);
  SetBody(sub, [path, flags, options] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<ReportTable> t = ComputeTop(*reader, *options);
    if (!t.ok()) return Fail(t.status());
    return WriteOutput(t->Render(flags->format()), "");
  });
}

const bool kRegistered = RegisterCommand(32, RegisterTop);

}  // namespace
}  // namespace atr::cli
