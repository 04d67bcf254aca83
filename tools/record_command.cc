// atr record [-o FILE] [options] -- CMD [ARGS...]
#include <unistd.h>

#include <cstdio>

#include "base/number_format.h"
#include "base/progress_line.h"
#include "recorder/collector/record_session.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

void RegisterRecord(CLI::App& app) {
  auto* o = new RecordOptions();  // lives as long as the app
  auto* quiet = new bool(false);
  CLI::App* sub = app.add_subcommand(
      "record", "Run a command and record every allocation it makes into a trace");
  sub->footer("Example: atr record -o run.db -- ./server --port 8080\n\nEverything after -- (or after the first argument that is not an option) is the command; atr exits with its status.");
  sub->add_option("-o,--output", o->output,
                  "Trace file to write (default: atr.<cmd>.<pid>.db)");
  sub->add_option("--unwind", o->unwind,
                  "How call stacks are captured: table (default; .eh_frame rules cached per "
                  "return address, libunwind for frames they cannot describe), libunwind "
                  "(same stacks, slower), fp (frame pointers, fastest, needs "
                  "-fno-omit-frame-pointer), none")
      ->check(CLI::IsMember({"table", "libunwind", "fp", "none"}));
  sub->add_option("--max-depth", o->max_depth, "Frames kept per stack (default 64)")
      ->check(CLI::Range(1, 512));
  sub->add_flag("!--no-free-stacks", o->free_stacks,
                "Do not capture stacks of frees and deletes (faster; double-free reports "
                "then lack the first release's stack)");
  sub->add_flag("--stack-ops", o->stack_ops,
                "Record every function enter/exit of code built with -finstrument-functions "
                "(for atr stack); event stacks then come from that shadow stack");
  sub->add_flag("--force", o->overwrite, "Replace the output file if it exists");
  sub->add_flag("!--no-symbolize", o->symbolize, "Leave frames unsymbolized (module + offset)");
  sub->add_flag("-q,--quiet", *quiet, "No progress and no summary line");
  // Everything from the first positional argument on is the command, so its
  // own options are never taken for atr's.
  sub->prefix_command();
  auto* program = new std::string();
  sub->add_option("command", *program, "The command to run, then its arguments");
  SetBody(sub, [sub, o, quiet, program] {
    if (!program->empty()) o->command.push_back(*program);
    for (std::string& a : sub->remaining()) o->command.push_back(std::move(a));
    for (const std::string& a : ArgsAfterDashDash()) o->command.push_back(a);
    if (o->command.empty()) {
      std::fprintf(stderr, "atr: record: no command given (atr record [OPTIONS] -- CMD [ARGS...])\n");
      return kExitUsage;
    }
    if (o->output.empty()) o->output = DefaultOutputName(o->command[0], getpid());
    o->progress = !*quiet && ProgressLine::StderrIsTerminal();
    absl::StatusOr<RecordOutcome> r = Record(*o);
    if (!r.ok()) return Fail(r.status());
    if (!*quiet) {
      const CollectorStats& s = r->stats;
      std::fprintf(stderr, "atr: %s events, %s allocations, %s stacks, %s -> %s\n",
                   FormatCount(s.events).c_str(), FormatCount(s.acquisitions).c_str(),
                   FormatCount(s.distinct_stacks).c_str(), FormatBytes(r->file_bytes).c_str(),
                   o->output.c_str());
      for (const std::string& p : s.problems) std::fprintf(stderr, "atr: warning: %s\n", p.c_str());
      if (s.lost_events) {
        std::fprintf(stderr, "atr: warning: %lld events could not be recorded (see meta lost_events)\n",
                     static_cast<long long>(s.lost_events));
      }
    }
    return r->exit_code;
  });
}

const bool kRegistered = RegisterCommand(10, RegisterRecord);

}  // namespace

}  // namespace atr::cli
