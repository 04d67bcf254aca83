// atr import SPOOL_DIR [-o FILE]
#include <cstdio>

#include "base/number_format.h"
#include "base/progress_line.h"
#include "recorder/collector/import_spool.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterImport(CLI::App& app) {
  auto* o = new ImportOptions();
  CLI::App* sub = app.add_subcommand(
      "import", "Finish a trace from a spool directory: one written by LD_PRELOAD alone, or "
                "left by a killed `atr record` (its unfinished trace is continued from what it "
                "committed)");
  sub->add_option("spool", o->spool_dir, "Spool directory (e.g. run.db.spool)")->required();
  sub->add_option("-o,--output", o->output,
                  "Trace file to write (default: the spool's name without .spool)");
  sub->add_flag("--force", o->overwrite, "Replace the output file if it exists");
  sub->add_flag("--keep-spool", o->keep_spool, "Keep the spool directory afterwards");
  SetBody(sub, [o] {
    o->progress = ProgressLine::StderrIsTerminal();
    absl::StatusOr<ImportOutcome> r = ImportSpool(*o);
    if (!r.ok()) return Fail(r.status());
    const CollectorStats& s = r->stats;
    if (r->continued) {
      std::fprintf(stderr, "atr: continued the unfinished trace %s\n", r->output.c_str());
    }
    std::fprintf(stderr, "atr: %s events, %s allocations, %s stacks, %s -> %s\n",
                 FormatCount(s.events).c_str(), FormatCount(s.acquisitions).c_str(),
                 FormatCount(s.distinct_stacks).c_str(), FormatBytes(r->file_bytes).c_str(),
                 r->output.c_str());
    for (const std::string& p : s.problems) std::fprintf(stderr, "atr: warning: %s\n", p.c_str());
    return kExitOk;
  });
}

const bool kRegistered = RegisterCommand(11, RegisterImport);

}  // namespace

}  // namespace atr::cli
