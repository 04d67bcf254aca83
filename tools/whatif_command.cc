// atr whatif FILE (--segregate SITE | --drop SITE | --config K=V ...) [--base-config K=V ...]
//                 [--pid PID] [--no-store] [-q] [--json | --csv]
#include "analysis/reports/whatif_report.h"
#include "base/progress_line.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

struct WhatIfArgs {
  std::string path;
  std::string segregate;
  std::string drop;
  std::vector<std::string> config;
  std::vector<std::string> base_config;
  int32_t pid = 0;
  bool no_store = false;
  bool quiet = false;
  ReportFlags report;
};

int RunWhatIfCommand(const WhatIfArgs& a) {
  const int changes = !a.segregate.empty() + !a.drop.empty() + !a.config.empty();
  if (changes != 1) {
    std::fprintf(stderr, "atr: whatif needs exactly one change: --segregate SITE, --drop SITE "
                         "or --config key=value (see atr whatif --help)\n");
    return kExitUsage;
  }
  WhatIfOptions o;
  if (!a.segregate.empty()) {
    o.change.kind = WhatIfChange::Kind::kSegregate;
    o.change.site = a.segregate;
  } else if (!a.drop.empty()) {
    o.change.kind = WhatIfChange::Kind::kDrop;
    o.change.site = a.drop;
  } else {
    o.change.kind = WhatIfChange::Kind::kConfig;
    o.change.config = a.config;
  }
  o.base_config = a.base_config;
  if (a.pid != 0) o.pid = a.pid;
  o.store = !a.no_store;
  o.progress = ProgressLines(!a.quiet && ProgressLine::StderrIsTerminal());
  absl::StatusOr<WhatIfReport> r = RunWhatIf(a.path, o);
  o.progress = nullptr;  // erases the line
  if (!r.ok()) return Fail(r.status());
  switch (a.report.format()) {
    case OutputFormat::kJson: return WriteOutput(RenderWhatIfJson(*r), "");
    case OutputFormat::kCsv: return WriteOutput(WhatIfTable(*r).RenderCsv(), "");
    case OutputFormat::kText: break;
  }
  return WriteOutput(RenderWhatIfText(*r), "");
}

void RegisterWhatIf(CLI::App& app) {
  auto* a = new WhatIfArgs();
  CLI::App* sub = app.add_subcommand(
      "whatif",
      "Replay the trace with one change (segregate or drop a site, or another allocator "
      "configuration) and report the change in peak resident memory and fragmentation");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("--segregate", a->segregate,
                  "Give this site's allocations a heap of their own (SITE: a function name as "
                  "atr top and atr frag print it)");
  sub->add_option("--drop", a->drop, "Do not replay this site's allocations and their frees");
  sub->add_option("--config", a->config,
                  "Replay under this built-in allocator tunable key=value (repeatable; atr "
                  "replay --show-config lists them)");
  sub->add_option("--base-config", a->base_config,
                  "Configuration of the baseline and of the change (key=value, repeatable; "
                  "default: the defaults)");
  sub->add_option("--pid", a->pid, "Process to replay (default: the first one)");
  sub->add_flag("--no-store", a->no_store,
                "Do not store the counterfactual replay in the trace (replays.counterfactual)");
  sub->add_flag("-q,--quiet", a->quiet, "No progress line");
  AddReportFlags(sub, &a->report);
  SetBody(sub, [a] { return RunWhatIfCommand(*a); });
}

const bool kRegistered = RegisterCommand(35, RegisterWhatIf);

}  // namespace
}  // namespace atr::cli
