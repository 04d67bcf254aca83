// atr flamegraph FILE [--metric calls|bytes|leaked|peak|pinned] [-o out.svg] [--folded]
#include "analysis/model/flame_graph.h"
#include "analysis/render/flame_svg.h"
#include "tools/command.h"

namespace atr::cli {
namespace {

void RegisterFlamegraph(CLI::App& app) {
  struct Args {
    std::string path;
    std::string metric = "bytes";
    std::string output;
    std::string title;
    bool folded = false;
    bool signatures = false;
    int64_t replay = 0;
    int width = 1200;
  };
  auto* a = new Args();
  CLI::App* sub = app.add_subcommand(
      "flamegraph",
      "Allocation call stacks as an interactive SVG flame graph, or folded stacks (--folded) "
      "for other flame-graph tools");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("--metric,-m", a->metric,
                  "Weight of a stack: calls (allocations), bytes (allocated), leaked (bytes never "
                  "freed), peak (bytes live at the peak of live bytes), pinned (free span bytes "
                  "held by live objects; needs atr replay). Default bytes")
      ->check(CLI::IsMember({"calls", "bytes", "leaked", "peak", "pinned"}));
  sub->add_option("-o,--output", a->output, "Output file ('-' or omitted: stdout)");
  sub->add_flag("--folded", a->folded,
                "Folded stacks, one 'outer;...;inner weight' line per stack, sorted");
  sub->add_flag("--signatures", a->signatures, "Keep parameter lists in function names");
  sub->add_option("--replay", a->replay,
                  "pinned: the replay (replays.id) whose span snapshot to use; default newest")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--title", a->title, "SVG title (default: the metric's description)");
  sub->add_option("--width", a->width, "SVG width in pixels (default 1200)")
      ->check(CLI::Range(200, 20000));
  SetBody(sub, [a] {
    absl::StatusOr<FlameMetric> metric = ParseFlameMetric(a->metric);
    if (!metric.ok()) return Fail(metric.status());
    absl::StatusOr<TraceReader> reader = TraceReader::Open(a->path);
    if (!reader.ok()) return Fail(reader.status());
    absl::StatusOr<FlameGraph> g = BuildFlameGraph(
        *reader, {.metric = *metric, .replay_id = a->replay, .signatures = a->signatures});
    if (!g.ok()) return Fail(g.status());
    if (a->folded) return WriteOutput(RenderFolded(*g), a->output);
    FlameSvgOptions options;
    options.title = a->title;
    options.width = a->width;
    return WriteOutput(RenderFlameSvg(*g, options), a->output);
  });
}

const bool kRegistered = RegisterCommand(70, RegisterFlamegraph);

}  // namespace
}  // namespace atr::cli
