// atr stack FILE [--json|--csv] [--stack-size N] [--limit N]
#include <cstdint>

#include "analysis/reports/stack_depth_report.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterStack(CLI::App& app) {
  auto* path = new std::string();
  auto* flags = new ReportFlags();
  auto* size = new std::string();
  auto* options = new StackDepthReportOptions();
  CLI::App* sub = app.add_subcommand(
      "stack", "Stack depth per thread, the path to the deepest point, largest and dynamic "
               "frames; with --stack-size, where a smaller stack would first overflow");
  sub->footer("Exact depth and per-function calls/times need a program built with "
              "-finstrument-functions recorded with `atr record --stack-ops`; otherwise the "
              "depth is sampled at recorded events (docs/stack-depth.md). --csv prints the "
              "per-thread table (depth, first overflow and its path).");
  sub->add_option("trace", *path, "Trace file")->required();
  AddReportFlags(sub, flags);
  sub->add_option("--stack-size", *size,
                  "Report the first event at which each thread would overflow a stack of this "
                  "size (bytes; K, M, G suffixes)");
  sub->add_option("--limit", options->limit, "Rows of the largest-frames table (0 = all)")
      ->check(CLI::NonNegativeNumber);
  SetBody(sub, [path, flags, size, options] {
    if (!size->empty()) {
      absl::StatusOr<uint64_t> bytes = ParseStackSize(*size);
      if (!bytes.ok()) {
        std::fprintf(stderr, "atr: %s\n", std::string(bytes.status().message()).c_str());
        return kExitUsage;
      }
      options->stack_size = *bytes;
    }
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<StackDepthReport> r = ComputeStackDepthReport(*reader, *options);
    if (!r.ok()) return Fail(r.status());
    switch (flags->format()) {
      case OutputFormat::kJson:
        return WriteOutput(RenderStackDepthReportJson(*r), "");
      case OutputFormat::kCsv:
        return WriteOutput(StackThreadsTable(*r).RenderCsv(), "");
      case OutputFormat::kText:
        break;
    }
    return WriteOutput(RenderStackDepthReportText(*r), "");
  });
}

const bool kRegistered = RegisterCommand(36, RegisterStack);

}  // namespace

}  // namespace atr::cli
