// atr temp | lifetimes | sizes FILE [--limit N] [--json|--csv]
// Three per-site distributions sharing one shape (analysis/reports/histogram_reports.h).
#include "analysis/reports/histogram_reports.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

using Compute = absl::StatusOr<ReportTable> (*)(TraceReader&, const HistogramOptions&);

void AddHistogram(CLI::App& app, const char* name, const char* help, Compute compute) {
  auto* path = new std::string();
  auto* flags = new ReportFlags();
  auto* options = new HistogramOptions();
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_option("--limit", options->limit, "Sites to list (0 = all; default 20)")
      ->check(CLI::NonNegativeNumber);
  AddReportFlags(sub, flags);
  SetBody(sub, [path, flags, options, compute] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<ReportTable> t = compute(*reader, *options);
    if (!t.ok()) return Fail(t.status());
    return WriteOutput(t->Render(flags->format()), "");
  });
}

void RegisterHistograms(CLI::App& app) {
  AddHistogram(app, "temp",
               "Temporary allocations: released before their thread allocated anything else",
               ComputeTemporary);
  AddHistogram(app, "lifetimes", "How long each site's allocations live (decade buckets)",
               ComputeLifetimes);
  AddHistogram(app, "sizes", "Requested sizes per site (power-of-two buckets)", ComputeSizes);
}

const bool kRegistered = RegisterCommand(33, RegisterHistograms);

}  // namespace
}  // namespace atr::cli
