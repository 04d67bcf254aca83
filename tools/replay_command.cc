// atr replay FILE [--allocator NAME] [--config K=V ...] [--until SEQ] [--pid PID]
//                 [--threads single|real] [--sample-every N] [--stack-size N]
//                 [--json|--csv] [--no-store]
#include <optional>

#include "allocator/config.h"
#include "analysis/reports/replay_report.h"
#include "analysis/reports/stack_depth_report.h"
#include "base/progress_line.h"
#include "db/query.h"
#include "replayer/builtin_replay.h"
#include "replayer/real_replay.h"
#include "replayer/replay_engine.h"
#include "replayer/replay_store.h"
#include "replayer/stack_depth_model.h"
#include "replayer/stack_depth_store.h"
#include "tools/command.h"

namespace atr::cli {

namespace {

struct ReplayArgs {
  std::string path;
  std::string allocator = "builtin";
  std::vector<std::string> config;
  int64_t until = 0;
  int32_t pid = 0;
  std::string threads = "single";
  int64_t sample_every = 0;
  int limit = 10;
  std::string stack_size;
  bool json = false;
  bool csv = false;
  bool no_store = false;
  bool no_spans = false;
  bool quiet = false;
  bool show_config = false;
};

// For the progress line only: 0 when unknown.
int64_t MaxSeq(const TraceReader& reader) {
  return QueryScalar(reader, "SELECT max(seq) FROM event_log").value_or(0);
}

int RunReplay(const ReplayArgs& a) {
  const bool builtin = a.allocator == "builtin";
  if (!builtin && !a.config.empty()) {
    std::fprintf(stderr, "atr: --config applies to the built-in allocator only (see atr replay --help)\n");
    return kExitUsage;
  }
  uint64_t stack_size = 0;
  if (!a.stack_size.empty()) {
    absl::StatusOr<uint64_t> bytes = ParseStackSize(a.stack_size);
    if (!bytes.ok()) {
      std::fprintf(stderr, "atr: %s\n", std::string(bytes.status().message()).c_str());
      return kExitUsage;
    }
    stack_size = *bytes;
  }
  absl::StatusOr<alloc::Config> cfg = alloc::ParseConfig(a.config);
  if (!cfg.ok()) return Fail(cfg.status());
  if (a.show_config) return WriteOutput(alloc::FormatConfig(*cfg), "");
  absl::StatusOr<TraceReader> reader = TraceReader::Open(a.path);
  if (!reader.ok()) return Fail(reader.status());
  // --stack-size: the stack model rides along the heap replay's event walk
  // (enter/exit and heap events of the replayed process, one pass by seq).
  std::optional<StackDepthModel> stack_depth_model;
  std::function<void(const EventRow& e)> on_event;
  if (stack_size != 0) {
    absl::StatusOr<StackDepthModelOptions> mo = StackDepthModelOptionsFor(*reader, stack_size, 60);
    if (!mo.ok()) return Fail(mo.status());
    stack_depth_model.emplace(*mo);
    on_event = [&stack_depth_model](const EventRow& e) { stack_depth_model->OnEvent(e); };
  }
  ProgressLine progress(!a.quiet && ProgressLine::StderrIsTerminal(), "replaying");
  const int64_t last = MaxSeq(*reader);
  auto on_progress = [&](int64_t seq) { progress.Update(seq, last); };
  std::optional<int32_t> pid;
  if (a.pid != 0) pid = a.pid;
  const int64_t until = a.until > 0 ? a.until : std::numeric_limits<int64_t>::max();

  absl::StatusOr<replay::ReplayRun> run;
  if (builtin) {
    replay::BuiltinReplayOptions o;
    o.config = *cfg;
    o.pid = pid;
    o.until_seq = until;
    o.sample_every = a.sample_every;
    o.span_snapshot = !a.no_spans;
    o.progress = on_progress;
    o.on_event = on_event;
    run = replay::RunBuiltinReplay(&*reader, o);
  } else {
    replay::RealReplayOptions o;
    o.allocator = a.allocator;
    o.pid = pid;
    o.until_seq = until;
    o.sample_every = a.sample_every;
    o.real_threads = a.threads == "real";
    o.progress = on_progress;
    o.on_event = on_event;
    run = replay::RunRealReplay(&*reader, o);
  }
  progress.Done();
  if (!run.ok()) return Fail(run.status());
  std::optional<StackDepthReport> stack;
  if (stack_depth_model) {
    stack_depth_model->Finish(stack_depth_model->options().timeline_end_ns);
    absl::StatusOr<StackDepthReport> r = StackDepthReportFromModel(*reader, *stack_depth_model);
    if (!r.ok()) return Fail(r.status());
    stack = std::move(*r);
  }
  if (!pid) {
    absl::StatusOr<QueryCursor> q =
        QueryCursor::Run(*reader, "SELECT count(DISTINCT pid) FROM processes");
    if (q.ok() && q->Next() && q->Int(0) > 1) {
      std::fprintf(stderr, "atr: note: the trace has %lld processes; replayed pid %d, the first "
                   "(choose with --pid)\n", static_cast<long long>(q->Int(0)), run->summary.pid);
    }
  }
  int64_t id = 0;
  if (!a.no_store) {
    absl::StatusOr<int64_t> stored = replay::StoreReplay(a.path, *run);
    if (!stored.ok()) return Fail(stored.status());
    id = *stored;
    if (stack_depth_model) {
      if (absl::Status s = replay::StoreStackDepthReplay(a.path, id, *stack_depth_model); !s.ok()) {
        return Fail(s);
      }
    }
  }
  if (a.csv) {
    return WriteOutput(
        stack ? StackThreadsTable(*stack).RenderCsv() : replay::RenderReplayCsv(*run, id), "");
  }
  StackViews views(&*reader);
  if (a.json) {
    JsonWriter j;
    j.BeginObject();
    replay::WriteReplayJson(j, *run, id);
    if (absl::Status s = replay::WriteProblemsJson(j, run->problems, &views, a.limit); !s.ok())
      return Fail(s);
    if (stack) {
      j.Key("stack").BeginObject();
      WriteStackCheckJson(j, *stack);
      j.EndObject();
    }
    j.EndObject();
    return WriteOutput(j.str() + "\n", "");
  }
  std::string text = replay::RenderReplayText(*run, id);
  if (run->problems.total() > 0) {
    absl::StatusOr<std::string> p = replay::RenderProblemsText(run->problems, &views, a.limit);
    if (!p.ok()) return Fail(p.status());
    text += "\n" + *p;
  }
  if (stack) text += "\n" + RenderStackCheckText(*stack);
  return WriteOutput(text, "");
}

void RegisterReplay(CLI::App& app) {
  auto* a = new ReplayArgs();
  CLI::App* sub = app.add_subcommand(
      "replay",
      "Replay a trace through the built-in allocator model or a real allocator; results are "
      "stored in the trace (tables replays, replay_samples, replay_spans, replay_blame, "
      "replay_problems, replay_stack_threads; see docs/replay.md, docs/stack-depth.md)");
  sub->add_option("trace", a->path, "Trace file")->required();
  sub->add_option("--allocator", a->allocator,
                  "builtin (default), system (glibc), jemalloc, tcmalloc, mimalloc, or a path to "
                  "a malloc .so (real allocators run in a child process with LD_PRELOAD)");
  sub->add_option("--config", a->config,
                  "Built-in allocator tunable key=value (repeatable; --show-config lists them)");
  sub->add_flag("--show-config", a->show_config,
                "Print the effective built-in configuration with explanations and exit");
  sub->add_option("--until", a->until, "Stop after this event (seq) and report the state there")
      ->check(CLI::PositiveNumber);
  sub->add_option("--pid", a->pid,
                  "Process to replay in a multi-process trace (default: the first one)");
  sub->add_option("--threads", a->threads,
                  "Real allocators: single (every call on one thread) or real (one thread per "
                  "recorded thread, calls in trace order)")
      ->check(CLI::IsMember({"single", "real"}));
  sub->add_option("--sample-every", a->sample_every,
                  "Events between metric samples (default: 1/1000 of the trace, at least 100)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--limit", a->limit, "Problems listed in full (0 = all; default 10)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--stack-size", a->stack_size,
                  "Also drive the function enter/exit stream through the stack model and report "
                  "per thread the first event at which a stack of this size (bytes; K, M, G "
                  "suffixes) would overflow, with the path (docs/stack-depth.md)");
  auto* json =
      sub->add_flag("--json", a->json, "Machine-readable output (fields in docs/replay.md)");
  sub->add_flag("--csv", a->csv,
                "The summary as one CSV row (docs/replay.md); with --stack-size, the per-thread "
                "stack table instead")
      ->excludes(json);
  sub->add_flag("--no-store", a->no_store, "Do not write the results into the trace");
  sub->add_flag("--no-spans", a->no_spans,
                "Skip the span snapshot at the resident peak (it may cost a second pass)");
  sub->add_flag("-q,--quiet", a->quiet, "No progress line");
  SetBody(sub, [a] { return RunReplay(*a); });
}

const bool kRegistered = RegisterCommand(20, RegisterReplay);

}  // namespace

}  // namespace atr::cli
