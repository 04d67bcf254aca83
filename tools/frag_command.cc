// atr frag FILE [--replay ID] [--limit N] [--json]
#include "analysis/reports/frag_report.h"
#include "recorder/collector/progress_line.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

void RegisterFrag(CLI::App& app) {
  auto* path = new std::string();
  auto* options = new FragOptions();
  auto* json = new bool(false);
  CLI::App* sub = app.add_subcommand(
      "frag", "Why resident memory is above live memory: breakdown and ranked causes");
  sub->add_option("trace", *path, "Trace file")->required();
  sub->add_option("--replay", options->replay_id,
                  "Replay id to explain (default: the latest built-in replay; one is run and "
                  "stored if there is none)");
  sub->add_option("--limit", options->limit, "Rows per section (default 10)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", *json, "Machine-readable output (fields in docs/queries.md)");
  SetBody(sub, [path, options, json] {
    if (!options->replay_id) {
      absl::StatusOr<int64_t> id = EnsureBuiltinReplay(*path, ProgressLine::StderrIsTerminal());
      if (!id.ok()) return Fail(id.status());
      options->replay_id = *id;
    }
    absl::StatusOr<TraceReader> reader = TraceReader::Open(*path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<FragReport> r = ComputeFrag(*reader, *options);
    if (!r.ok()) return Fail(r.status());
    return WriteOutput(*json ? RenderFragJson(*r) : RenderFragText(*r), "");
  });
}

const bool kRegistered = RegisterCommand(34, RegisterFrag);

}  // namespace
}  // namespace atr::cli
