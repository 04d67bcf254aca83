// atr who FILE ADDR [--at SEQ] [--pid PID] [--json|--csv]
#include <cstdlib>

#include "analysis/reports/who_report.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

void RegisterWho(CLI::App& app) {
  auto* path = new std::string();
  auto* addr = new std::string();
  auto* options = new WhoOptions();
  auto* flags = new ReportFlags();
  CLI::App* sub = app.add_subcommand(
      "who", "Which allocation held an address at a moment, with its stacks and history");
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_option("address", *addr, "Address, hex (0x...) or decimal")->required();
  sub->add_option("--at", options->at_seq, "Event number (seq) of the moment; default: the end");
  sub->add_option("--pid", options->pid, "Only this process");
  AddReportFlags(sub, flags);
  SetBody(sub, [path, addr, options, flags] {
    char* end = nullptr;
    options->addr = std::strtoull(addr->c_str(), &end, 0);
    if (addr->empty() || *end != '\0') return Fail("who: not an address: " + *addr);
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<WhoReport> r = ComputeWho(*reader, *options);
    if (!r.ok()) return Fail(r.status());
    switch (flags->format()) {
      case OutputFormat::kJson: return WriteOutput(RenderWhoJson(*r), "");
      case OutputFormat::kCsv: return WriteOutput(RenderWhoCsv(*r), "");
      case OutputFormat::kText: break;
    }
    return WriteOutput(RenderWhoText(*r), "");
  });
}

const bool kRegistered = RegisterCommand(35, RegisterWho);

}  // namespace
}  // namespace atr::cli
