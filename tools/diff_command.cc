// atr diff A B [--by calls|bytes|peak|leaked] [--limit N] [--json|--csv]
#include "analysis/reports/diff_report.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

void RegisterDiff(CLI::App& app) {
  auto* a = new std::string();
  auto* b = new std::string();
  auto* flags = new ReportFlags();
  auto* options = new DiffOptions();
  CLI::App* sub = app.add_subcommand(
      "diff", "Per allocation site, what changed from trace A to trace B");
  sub->add_option("before", *a, "Trace A (before)")->required();
  sub->add_option("after", *b, "Trace B (after)")->required();
  AddRankByOption(sub, &options->by, "Rank by the change in: calls, bytes (default), peak, leaked");
  sub->add_option("--limit", options->limit, "Sites to list (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  AddReportFlags(sub, flags);
  SetBody(sub, [a, b, flags, options] {
    absl::StatusOr<TraceReader> ra = TraceReader::Open(*a);
    if (!ra.ok()) return Fail(ra.status());
    absl::StatusOr<TraceReader> rb = TraceReader::Open(*b);
    if (!rb.ok()) return Fail(rb.status());
    absl::StatusOr<ReportTable> t = ComputeDiff(*ra, *rb, *options);
    if (!t.ok()) return Fail(t.status());
    return WriteOutput(t->Render(flags->format()), "");
  });
}

const bool kRegistered = RegisterCommand(37, RegisterDiff);

}  // namespace
}  // namespace atr::cli
