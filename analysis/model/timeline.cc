#include "analysis/model/timeline.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "db/query.h"
#include "replayer/replay_store.h"

namespace atr {
namespace {

// Keeps at most `points` points: the biggest y of each run of consecutive
// points, so peaks survive the thinning.
std::vector<std::pair<int64_t, int64_t>> Thin(std::vector<std::pair<int64_t, int64_t>> in,
                                              int points) {
  if (points <= 0 || static_cast<int>(in.size()) <= points) return in;
  const size_t k = (in.size() + points - 1) / points;
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i < in.size(); i += k) {
    auto best = in.begin() + i;
    for (size_t j = i; j < std::min(in.size(), i + k); ++j) {
      if (in[j].second > best->second) best = in.begin() + j;
    }
    out.push_back(*best);
  }
  return out;
}

void SortByX(std::vector<std::pair<int64_t, int64_t>>& points) {
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace

absl::StatusOr<Timeline> ComputeTimeline(TraceReader& reader, int points) {
  Timeline t;
  points = std::max(points, 2);
  ATR_ASSIGN_OR_RETURN(const int64_t max_seq,
                       QueryScalar(reader, "SELECT coalesce(max(seq), 0) FROM event_log"));
  ATR_ASSIGN_OR_RETURN(const int64_t max_ts,
                       QueryScalar(reader,
                                   "SELECT coalesce(max(ts_ns), 0) FROM event_log "
                                   "WHERE seq >= (SELECT max(seq) FROM event_log) - 1000"));
  t.x_is_seq = max_ts <= 0;
  const int64_t width = std::max<int64_t>(1, (max_seq + points - 1) / points);
  const int64_t buckets = max_seq / width + 1;

  std::map<int64_t, int64_t> live_at_end;
  {
    ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kTimelineLiveSql, {width}));
    while (q.Next()) live_at_end[q.Int(0)] = q.Int(1);
    ATR_RETURN_IF_ERROR(q.status());
  }
  // x of each bucket's end: its last seq, or that seq's timestamp.
  std::vector<int64_t> xs(buckets, 0);
  for (int64_t b = 0; b < buckets; ++b) xs[b] = std::min((b + 1) * width - 1, max_seq);
  if (!t.x_is_seq) {
    ATR_ASSIGN_OR_RETURN(
        QueryCursor q,
        QueryCursor::Run(reader,
                         "WITH RECURSIVE k(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM k "
                         "WHERE b < ?1) SELECT b, (SELECT ts_ns FROM event_log "
                         "WHERE seq <= min((b + 1) * ?2 - 1, ?3) ORDER BY seq DESC LIMIT 1) FROM k",
                         {buckets - 1, width, max_seq}));
    while (q.Next()) {
      const int64_t b = q.Int(0);
      if (b >= 0 && b < buckets) xs[b] = q.Int(1);
    }
    ATR_RETURN_IF_ERROR(q.status());
  }
  TimelineSeries live{.name = "live heap (requested bytes)", .color = "#c2410c", .points = {}};
  live.points.emplace_back(0, 0);
  int64_t current = 0;
  for (int64_t b = 0; b < buckets; ++b) {
    if (auto it = live_at_end.find(b); it != live_at_end.end()) current = it->second;
    live.points.emplace_back(xs[b], current);
  }
  t.peak_bytes = reader.MetaInt("alloc_peak_live_bytes").value_or(0);
  const int64_t peak_seq = reader.MetaInt("alloc_peak_live_seq").value_or(0);
  if (t.peak_bytes > 0 && peak_seq > 0) {
    t.peak_x = peak_seq;
    if (!t.x_is_seq) {
      ATR_ASSIGN_OR_RETURN(
          t.peak_x, QueryScalar(reader, "SELECT ts_ns FROM event_log WHERE seq = ?1", {peak_seq}));
    }
    live.points.emplace_back(t.peak_x, t.peak_bytes);
    SortByX(live.points);
  }
  t.series.push_back(std::move(live));

  // The replays' resident memory.
  struct Wanted {
    std::string where, name_prefix, color;
  };
  for (const Wanted& w : {Wanted{"allocator = 'builtin'", "modelled resident", "#1a56a8"},
                          Wanted{"allocator <> 'builtin'", "real RSS", "#2f8f3a"}}) {
    ATR_ASSIGN_OR_RETURN(const int64_t id, replay::NewestReplay(reader, w.where));
    if (id == 0) continue;
    std::string allocator;
    {
      ATR_ASSIGN_OR_RETURN(
          QueryCursor q,
          QueryCursor::Run(reader, "SELECT allocator FROM replays WHERE id = ?1", {id}));
      if (q.Next()) allocator = q.Text(0);
    }
    ATR_ASSIGN_OR_RETURN(
        QueryCursor q,
        QueryCursor::Run(reader,
                         "SELECT s.seq, coalesce(e.ts_ns, 0), s.resident_bytes FROM "
                         "replay_samples s LEFT JOIN event_log e ON e.seq = s.seq WHERE "
                         "s.replay_id = ?1 AND s.resident_bytes IS NOT NULL ORDER BY s.seq",
                         {id}));
    std::vector<std::pair<int64_t, int64_t>> pts;
    while (q.Next()) pts.emplace_back(t.x_is_seq ? q.Int(0) : q.Int(1), q.Int(2));
    ATR_RETURN_IF_ERROR(q.status());
    if (pts.empty()) continue;
    SortByX(pts);
    t.series.push_back({.name = absl::StrCat(w.name_prefix, " (", allocator, ", replay ", id, ")"),
                        .color = w.color,
                        .points = Thin(std::move(pts), points)});
  }
  return t;
}

}  // namespace atr
