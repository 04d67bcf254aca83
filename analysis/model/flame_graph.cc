#include "analysis/model/flame_graph.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"
#include "base/status_macros.h"
#include "db/query.h"
#include "replayer/replay_store.h"

namespace atr {
namespace {

constexpr FlameMetric kAllMetrics[] = {FlameMetric::kCalls, FlameMetric::kBytes,
                                       FlameMetric::kLeaked, FlameMetric::kPeak,
                                       FlameMetric::kPinned};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The replay whose span snapshot the pinned metric uses.
absl::StatusOr<int64_t> FindSnapshotReplay(const TraceReader& reader, int64_t wanted) {
  const absl::Status no_replay = absl::FailedPreconditionError(
      absl::StrCat(reader.path(), ": no replay with span snapshots: run atr replay first"));
  for (const char* table : {"replays", "replay_spans", "replay_blame"}) {
    if (!reader.HasTable(table)) return no_replay;
  }
  if (wanted != 0) {
    ATR_ASSIGN_OR_RETURN(
        const int64_t found,
        QueryScalar(reader,
                    "SELECT count(*) FROM replays WHERE id = ?1 AND snapshot_seq IS NOT NULL",
                    {wanted}));
    if (found == 0) {
      return absl::NotFoundError(absl::StrCat(reader.path(), ": replay ", wanted,
                                              " does not exist or has no span snapshot"));
    }
    return wanted;
  }
  ATR_ASSIGN_OR_RETURN(int64_t id, replay::NewestReplay(reader, "snapshot_seq IS NOT NULL"));
  if (id == 0) return no_replay;
  return id;
}

std::string FoldedName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == ';') c = ':';
    else if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return out;
}

}  // namespace

std::string_view FlameMetricName(FlameMetric m) {
  switch (m) {
    case FlameMetric::kCalls: return "calls";
    case FlameMetric::kBytes: return "bytes";
    case FlameMetric::kLeaked: return "leaked";
    case FlameMetric::kPeak: return "peak";
    case FlameMetric::kPinned: return "pinned";
  }
  return "?";
}

absl::StatusOr<FlameMetric> ParseFlameMetric(std::string_view name) {
  for (FlameMetric m : kAllMetrics) {
    if (FlameMetricName(m) == name) return m;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown metric '", absl::string_view(name.data(), name.size()),
      "' (use calls, bytes, leaked, peak or pinned)"));
}

std::string_view FlameMetricDescription(FlameMetric m) {
  switch (m) {
    case FlameMetric::kCalls: return "heap allocations";
    case FlameMetric::kBytes: return "bytes allocated";
    case FlameMetric::kLeaked: return "bytes never freed";
    case FlameMetric::kPeak: return "bytes live at the peak of live bytes";
    case FlameMetric::kPinned: return "free bytes of partly used spans pinned by live objects";
  }
  return "?";
}

std::string FlameFrameName(std::string_view function, bool signatures) {
  std::string_view s = function;
  // Outlined and specialized copies: GCC's demangler writes
  // "f(int) [clone .cold]", LLVM's "f(int) (.constprop.0)".
  for (bool again = true; again;) {
    again = false;
    size_t pos;
    if (EndsWith(s, "]") && (pos = s.rfind(" [clone ")) != std::string_view::npos) {
      s = s.substr(0, pos);
      again = true;
    } else if (EndsWith(s, ")") && (pos = s.rfind(" (.")) != std::string_view::npos &&
               s.find_first_of("()", pos + 3) == s.size() - 1) {
      s = s.substr(0, pos);
      again = true;
    }
  }
  if (!signatures) {
    for (bool again = true; again;) {
      again = false;
      for (std::string_view q : {" const", " volatile", " &&", " &", " noexcept"}) {
        if (EndsWith(s, q)) {
          s.remove_suffix(q.size());
          again = true;
        }
      }
    }
    if (EndsWith(s, ")")) {
      int depth = 0;
      for (size_t i = s.size(); i-- > 0;) {
        if (s[i] == ')') {
          ++depth;
        } else if (s[i] == '(' && --depth == 0) {
          // Not the "()" of a bare "operator()" (DWARF names of inlined
          // calls come without parameter lists).
          if (i > 0 && !EndsWith(s.substr(0, i), "operator")) s = s.substr(0, i);
          break;
        }
      }
    }
  }
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

absl::StatusOr<std::vector<StackWeight>> ComputeStackWeights(TraceReader& reader,
                                                             const FlameOptions& options,
                                                             int64_t* replay_id_used) {
  const char* sql = nullptr;
  std::vector<int64_t> params;
  switch (options.metric) {
    case FlameMetric::kCalls: sql = kFlameCallsSql; break;
    case FlameMetric::kBytes: sql = kFlameBytesSql; break;
    case FlameMetric::kLeaked: sql = kFlameLeakedSql; break;
    case FlameMetric::kPeak:
      sql = kFlamePeakSql;
      params = {reader.MetaInt("alloc_peak_live_seq").value_or(0)};
      break;
    case FlameMetric::kPinned: {
      ATR_ASSIGN_OR_RETURN(const int64_t id, FindSnapshotReplay(reader, options.replay_id));
      if (replay_id_used) *replay_id_used = id;
      sql = kFlamePinnedSql;
      params = {id};
      break;
    }
  }
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, sql, params));
  std::vector<StackWeight> out;
  while (q.Next()) {
    StackWeight w{q.Int(0), options.metric == FlameMetric::kPinned
                                ? static_cast<int64_t>(std::llround(q.Real(1)))
                                : q.Int(1)};
    if (w.weight > 0) out.push_back(w);
  }
  ATR_RETURN_IF_ERROR(q.status());
  std::sort(out.begin(), out.end(),
            [](const StackWeight& a, const StackWeight& b) { return a.stack < b.stack; });
  return out;
}

FlameTreeBuilder::FlameTreeBuilder() {
  FlameNode root;
  root.name = "all";
  graph_.nodes.push_back(std::move(root));
}

void FlameTreeBuilder::Add(const std::vector<Frame>& root_first, int64_t weight) {
  int node = 0;
  graph_.nodes[0].total += weight;
  for (const Frame& f : root_first) {
    auto [it, inserted] = child_.try_emplace({node, f.name}, 0);
    if (inserted) {
      FlameNode n;
      n.name = f.name;
      n.parent = node;
      n.depth = graph_.nodes[node].depth + 1;
      n.runtime = f.runtime;
      n.inlined = f.inlined;
      n.unknown = f.unknown;
      it->second = static_cast<int>(graph_.nodes.size());
      graph_.nodes[node].children.push_back(it->second);
      graph_.max_depth = std::max(graph_.max_depth, n.depth);
      graph_.nodes.push_back(std::move(n));
    }
    node = it->second;
    graph_.nodes[node].total += weight;
    if (!f.site.empty()) {
      std::vector<FlameSite>& sites = graph_.nodes[node].sites;
      auto s = std::find_if(sites.begin(), sites.end(),
                            [&](const FlameSite& x) { return x.label == f.site; });
      if (s == sites.end()) s = sites.insert(sites.end(), FlameSite{.label = f.site, .weight = 0});
      s->weight += weight;
    }
  }
  graph_.nodes[node].self += weight;
}

FlameGraph FlameTreeBuilder::Finish() {
  for (FlameNode& n : graph_.nodes) {
    std::sort(n.children.begin(), n.children.end(),
              [&](int a, int b) { return graph_.nodes[a].name < graph_.nodes[b].name; });
    std::sort(n.sites.begin(), n.sites.end(), [](const FlameSite& a, const FlameSite& b) {
      return a.weight != b.weight ? a.weight > b.weight : a.label < b.label;
    });
  }
  child_.clear();
  return std::move(graph_);
}

absl::StatusOr<FlameGraph> BuildFlameGraph(TraceReader& reader, const FlameOptions& options) {
  int64_t replay_id = 0;
  ATR_ASSIGN_OR_RETURN(std::vector<StackWeight> weights,
                       ComputeStackWeights(reader, options, &replay_id));
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  FlameTreeBuilder builder;
  StackViews views(&reader);
  std::vector<FlameTreeBuilder::Frame> frames;
  for (const StackWeight& w : weights) {
    frames.clear();
    if (w.stack == 0) {
      frames.push_back({.name = "[stack not recorded]", .unknown = true});
    } else {
      ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(w.stack));
      const std::vector<StackLine>& lines = v->lines;
      for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        const bool unknown = it->function == "??";
        frames.push_back({.name = unknown ? LineLabel(*it)
                                          : FlameFrameName(it->function, options.signatures),
                          .runtime = it->runtime,
                          .inlined = it->inlined,
                          .unknown = unknown});
      }
      if (std::optional<SiteAnnotation> a = labels.Find(*v)) {
        frames[lines.size() - 1 - static_cast<size_t>(v->site_line)].site = std::move(a->label);
      }
      if (frames.empty()) frames.push_back({.name = "[empty stack]", .unknown = true});
    }
    builder.Add(frames, w.weight);
  }
  FlameGraph g = builder.Finish();
  g.metric = options.metric;
  g.trace_path = reader.path();
  g.replay_id = replay_id;
  g.stacks = static_cast<int64_t>(weights.size());
  return g;
}

std::string RenderFolded(const FlameGraph& g) {
  std::vector<std::string> lines;
  // Iterative DFS carrying each node's folded path.
  std::vector<std::pair<int, std::string>> todo;
  for (int c : g.nodes.empty() ? std::vector<int>{} : g.nodes[0].children) {
    todo.emplace_back(c, FoldedName(g.nodes[c].name));
  }
  while (!todo.empty()) {
    auto [i, path] = std::move(todo.back());
    todo.pop_back();
    const FlameNode& n = g.nodes[i];
    if (n.self > 0) lines.push_back(absl::StrCat(path, " ", n.self));
    for (int c : n.children) todo.emplace_back(c, absl::StrCat(path, ";", FoldedName(g.nodes[c].name)));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

}  // namespace atr
