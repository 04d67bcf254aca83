// atr report FILE -o report.html
#include "analysis/html_report/html_report.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

void RegisterReport(CLI::App& app) {
  struct Args {
    std::string path;
    std::string output;
    int64_t leaks = 10;
  };
  auto* a = new Args();
  CLI::App* sub = app.add_subcommand(
      "report",
      "One self-contained HTML file: summary, timeline, flame graphs, fragmentation causes, "
      "leaks and checks");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("-o,--output", a->output, "HTML file to write ('-': stdout)")->required();
  sub->add_option("--leaks", a->leaks, "Leaking stacks to list (0 = all; default 10)")
      ->check(CLI::NonNegativeNumber);
  SetBody(sub, [a] {
    absl::StatusOr<TraceReader> reader = TraceReader::Open(a->path);
    if (!reader.ok()) return Fail(reader.status());
    HtmlReportOptions options;
    options.leak_limit = a->leaks;
    absl::StatusOr<std::string> html = RenderHtmlReport(*reader, options);
    if (!html.ok()) return Fail(html.status());
    return WriteOutput(*html, a->output);
  });
}

const bool kRegistered = RegisterCommand(71, RegisterReport);

}  // namespace
}  // namespace atr::cli
