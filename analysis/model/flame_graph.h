// FlameGraph: the allocation call tree of a trace weighted by one metric,
// frames root-first (outermost at the bottom of the picture), inlined calls
// expanded into frames of their own, equal names at the same position merged.
//
// When `atr sites` attached source sites to the trace (site_label.h), the
// frame of each stack's allocation site carries the matched site's label
// ("new Session (184 B) at session.cc:12 in keep_session()") and its weight:
// the SVG shows them in the frame's tooltip and searches them.
//
// Metrics (docs/queries.md, "atr flamegraph"), per allocation stack:
//   calls   successful heap allocations (allocations rows)
//   bytes   their requested bytes
//   leaked  requested bytes never released
//   peak    requested bytes live at the peak of live bytes (meta
//           alloc_peak_live_seq P: alloc_seq <= P and (free_seq IS NULL or
//           free_seq > P))
//   pinned  free bytes of partly used spans at the replay's span snapshot,
//           each span's free bytes shared equally among the live objects
//           keeping it (replay_spans + replay_blame of `atr replay`)
//
//   ATR_ASSIGN_OR_RETURN(FlameGraph g, BuildFlameGraph(reader, {.metric = FlameMetric::kPeak}));
//   std::string folded = RenderFolded(g);   // "main;handle_request;load_config 39000\n..."
//   std::string svg = RenderFlameSvg(g, {.title = "Live at peak"});  // flame_svg.h
#ifndef ATR_ANALYSIS_MODEL_FLAME_GRAPH_H_
#define ATR_ANALYSIS_MODEL_FLAME_GRAPH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "db/event_log_sql.h"
#include "db/trace_reader.h"

namespace atr {

enum class FlameMetric { kCalls, kBytes, kLeaked, kPeak, kPinned };

// "calls", "bytes", ...; Parse fails with the list of valid names.
std::string_view FlameMetricName(FlameMetric m);
absl::StatusOr<FlameMetric> ParseFlameMetric(std::string_view name);
// One line for titles: "bytes live at the peak of live bytes".
std::string_view FlameMetricDescription(FlameMetric m);

struct FlameOptions {
  FlameMetric metric = FlameMetric::kBytes;
  int64_t replay_id = 0;        // pinned: replays.id; 0 = the newest with a span snapshot
  bool signatures = false;      // keep parameter lists: "load_config(int)" not "load_config"
};

// A source site (`atr sites`) allocating from a frame, with the weight of
// the stacks whose site it is.
struct FlameSite {
  std::string label{};  // SiteLabels::Label: "new Session (184 B) at session.cc:12 in f()"
  int64_t weight = 0;
};

// Node 0 is the root ("all"); children are sorted by name.
struct FlameNode {
  std::string name{};             // function (or "module+0xoff" when unknown)
  int parent = -1;              // index; -1 for the root
  int depth = 0;                // root 0, outermost frames 1
  int64_t total = 0;            // weight of this node and everything above it
  int64_t self = 0;             // weight of stacks ending here
  bool runtime = false;         // allocator / C and C++ runtime / atr (StackLine::runtime)
  bool inlined = false;         // an inlined call
  bool unknown = false;         // no symbol
  std::vector<int> children{};
  std::vector<FlameSite> sites{};  // matched source sites here, heaviest first
};

struct FlameGraph {
  FlameMetric metric = FlameMetric::kBytes;
  std::string trace_path{};
  int64_t replay_id = 0;        // pinned: the replay used
  int64_t stacks = 0;           // distinct stacks with weight > 0
  std::vector<FlameNode> nodes{}; // nodes[0] is the root; nodes[0].total = the metric's sum
  int max_depth = 0;

  int64_t total() const { return nodes.empty() ? 0 : nodes[0].total; }
};

// The weight of each allocation stack (0 = not recorded) under `metric`,
// by one SQL query (kFlame*Sql below). Pinned fails with
// "no replay with span snapshots: run atr replay first" when the trace has
// no such replay.
struct StackWeight {
  int64_t stack = 0;
  int64_t weight = 0;
};
absl::StatusOr<std::vector<StackWeight>> ComputeStackWeights(TraceReader& reader,
                                                             const FlameOptions& options,
                                                             int64_t* replay_id_used = nullptr);

absl::StatusOr<FlameGraph> BuildFlameGraph(TraceReader& reader, const FlameOptions& options);

// Builder used by BuildFlameGraph (and tests): adds one stack, outermost
// frame first, with its weight.
class FlameTreeBuilder {
 public:
  struct Frame {
    std::string name{};
    bool runtime = false;
    bool inlined = false;
    bool unknown = false;
    std::string site{};  // label of the source site allocating here; "" = none
  };
  FlameTreeBuilder();
  void Add(const std::vector<Frame>& root_first, int64_t weight);
  // Sorts children by name and returns the graph (the builder is spent).
  FlameGraph Finish();

 private:
  FlameGraph graph_;
  absl::flat_hash_map<std::pair<int, std::string>, int> child_;  // (parent, name) -> node
};

// Brendan Gregg's folded format: one line per distinct root-to-frame path
// with self weight > 0, "outer;...;inner weight", sorted bytewise. The root
// "all" is not printed. ';' in names becomes ':' and control characters '?'.
std::string RenderFolded(const FlameGraph& g);

// The name a frame gets in the graph: without the parameter list and
// trailing qualifiers unless `signatures`; " [clone .cold]" suffixes removed.
std::string FlameFrameName(std::string_view function, bool signatures);

// The metric queries; "?1" is alloc_peak_live_seq (peak) or the replay id
// (pinned).
inline constexpr char kFlameCallsSql[] =
    "SELECT a.stack, count(*) FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a")
    " GROUP BY a.stack";
inline constexpr char kFlameBytesSql[] =
    "SELECT a.stack, sum(a.size) FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a")
    " GROUP BY a.stack";
inline constexpr char kFlameLeakedSql[] =
    "SELECT a.stack, sum(a.size) FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a")
    " AND " ATR_SQL_FREE_SEQ("a") " IS NULL GROUP BY a.stack";
inline constexpr char kFlamePeakSql[] =
    "SELECT a.stack, sum(a.size) FROM (SELECT a.stack, a.size, " ATR_SQL_FREE_SEQ("a")
    " AS free_seq FROM event_log a WHERE a.seq <= ?1 AND " ATR_SQL_IS_ALLOCATION("a") ") a"
    " WHERE a.free_seq IS NULL OR a.free_seq > ?1 GROUP BY a.stack";
inline constexpr char kFlamePinnedSql[] =
    "SELECT e.stack, sum(CAST(s.free_bytes AS REAL) / s.live_objects) "
    "FROM replay_blame b "
    "JOIN replay_spans s ON s.replay_id = b.replay_id AND s.span_address = b.span_address "
    "JOIN event_log e ON e.seq = b.allocation_id "
    "WHERE b.replay_id = ?1 AND s.live_objects > 0 GROUP BY e.stack";

}  // namespace atr

#endif  // ATR_ANALYSIS_MODEL_FLAME_GRAPH_H_
