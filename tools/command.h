// The atr command line: one file per subcommand, each registering itself
// with the CLI11 app. Files here only parse arguments and dispatch to the
// libraries (recorder/, replayer/, analysis/); no logic lives in tools/.
//
// Exit codes scripts can rely on (docs/cli.md):
//   0  success
//   1  the command failed (bad trace, I/O error, ...): one line on stderr
//   2  usage error (unknown option, missing argument)
//   3  atr check found problems (check_command.cc's kExitProblems)
//   atr record exits with the recorded command's status (128+N on signal N);
//   atr demo exits 1 when the example program did not exit 0.
#ifndef ATR_TOOLS_COMMAND_H_
#define ATR_TOOLS_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "analysis/reports/top_report.h"
#include "base/report_table.h"

namespace atr::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// A subcommand's body; returns the process exit code.
using CommandBody = std::function<int()>;

// Registers `sub` so that, when it is the chosen subcommand, `body` runs.
void SetBody(CLI::App* sub, CommandBody body);

// Prints "atr: <message>" on stderr and returns kExitFailure.
int Fail(const absl::Status& status);
int Fail(const std::string& message);

// The arguments after the first "--" on atr's command line, verbatim (the
// command `atr record` runs).
std::vector<std::string>& ArgsAfterDashDash();

// --json / --csv, shared by every report.
struct ReportFlags {
  bool json = false;
  bool csv = false;
  OutputFormat format() const {
    return json ? OutputFormat::kJson : csv ? OutputFormat::kCsv : OutputFormat::kText;
  }
};
void AddReportFlags(CLI::App* sub, ReportFlags* flags);

// --by calls|bytes|peak|leaked (top, diff). Defined in top_command.cc.
CLI::Option* AddRankByOption(CLI::App* sub, TopMetric* by, const std::string& help);

// Writes a report to stdout, or to `path` if not empty ("-" is stdout).
int WriteOutput(const std::string& text, const std::string& path);

// Each subcommand file registers itself at static-initialization time:
//
//   static const bool kRegistered = RegisterCommand(30, [](CLI::App& app) { ... });
//
// `order` sorts the subcommands in `atr --help` (the pipeline's order:
// record 10s, replay 20s, analysis 30s+, demo last), so adding a command
// touches no shared file.
using CommandRegistrar = void (*)(CLI::App& app);
bool RegisterCommand(int order, CommandRegistrar registrar);

}  // namespace atr::cli

#endif  // ATR_TOOLS_COMMAND_H_
