// atr stack FILE [--json] [--stack-size N] [--limit N]
#include <cctype>
#include <cstdint>

#include "analysis/stack_report.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

// "64K", "1M", "8192": bytes. 0 on a malformed value.
uint64_t ParseSize(const std::string& s) {
  if (s.empty()) return 0;
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + (s[i++] - '0');
  if (i == 0) return 0;
  std::string unit = s.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "B") return v;
  if (unit == "K" || unit == "KB" || unit == "KIB") return v << 10;
  if (unit == "M" || unit == "MB" || unit == "MIB") return v << 20;
  if (unit == "G" || unit == "GB" || unit == "GIB") return v << 30;
  return 0;
}

void RegisterStack(CLI::App& app) {
  auto* path = new std::string();
  auto* json = new bool(false);
  auto* size = new std::string();
  auto* options = new StackReportOptions();
  CLI::App* sub = app.add_subcommand(
      "stack", "Stack depth per thread, the path to the deepest point, largest and dynamic "
               "frames; with --stack-size, where a smaller stack would first overflow");
  sub->footer("Exact depth and per-function calls/times need a program built with "
              "-finstrument-functions recorded with `atr record --stack-ops`; otherwise the "
              "depth is sampled at recorded events (docs/stack.md).");
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_flag("--json", *json, "Machine-readable output (fields in docs/stack.md)");
  sub->add_option("--stack-size", *size,
                  "Report the first event at which each thread would overflow a stack of this "
                  "size (bytes; K, M, G suffixes)");
  sub->add_option("--limit", options->limit, "Rows of the largest-frames table (0 = all)")
      ->check(CLI::NonNegativeNumber);
  SetBody(sub, [path, json, size, options] {
    if (!size->empty()) {
      options->stack_size = ParseSize(*size);
      if (options->stack_size == 0) return Fail("--stack-size: expected bytes like 65536 or 64K");
    }
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<StackReport> r = ComputeStackReport(*reader, *options);
    if (!r.ok()) return Fail(r.status());
    return WriteOutput(*json ? RenderStackReportJson(*r) : RenderStackReportText(*r), "");
  });
}

const bool kRegistered = RegisterCommand(36, RegisterStack);

}  // namespace

}  // namespace atr::cli
