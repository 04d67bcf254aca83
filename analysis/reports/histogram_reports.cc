#include "analysis/reports/histogram_reports.h"

#include <algorithm>
#include <bit>

#include "absl/container/flat_hash_map.h"
#include "analysis/reports/site_groups.h"
#include "base/status_macros.h"
#include "db/event_log_sql.h"
#include "db/query.h"

namespace atr {

const char kTemporaryByStackSql[] =
    "WITH acq AS ("
    "  SELECT a.seq, a.thread, a.stack, a.size, " ATR_SQL_FREE_SEQ("a") " AS free_seq,"
    "         lead(a.seq) OVER (PARTITION BY a.thread ORDER BY a.seq) AS next_acq"
    "  FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a") ") "
    "SELECT acq.stack, count(*),"
    "  sum(f.thread = acq.thread AND (acq.next_acq IS NULL OR acq.free_seq < acq.next_acq)),"
    "  sum(CASE WHEN f.thread = acq.thread AND (acq.next_acq IS NULL OR acq.free_seq < acq.next_acq)"
    "      THEN acq.size ELSE 0 END) "
    "FROM acq LEFT JOIN event_log f ON f.seq = acq.free_seq "
    "GROUP BY acq.stack";

const char kLifetimeBucketsByStackSql[] =
    "SELECT a.stack, CASE WHEN a.free_seq IS NULL THEN 8 ELSE ("
    "  SELECT CASE WHEN d < 1000 THEN 0 WHEN d < 10000 THEN 1 WHEN d < 100000 THEN 2"
    "  WHEN d < 1000000 THEN 3 WHEN d < 10000000 THEN 4 WHEN d < 100000000 THEN 5"
    "  WHEN d < 1000000000 THEN 6 ELSE 7 END FROM (SELECT f.ts_ns - a.ts_ns AS d)) END AS bucket,"
    "  count(*) "
    "FROM (SELECT a.stack, a.ts_ns, " ATR_SQL_FREE_SEQ("a") " AS free_seq FROM event_log a"
    "  WHERE " ATR_SQL_IS_ALLOCATION("a") ") a "
    "LEFT JOIN event_log f ON f.seq = a.free_seq "
    "GROUP BY 1, 2";

const char kSizesByStackSql[] =
    "SELECT a.stack, a.size, count(*) "
    "FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a") " "
    "GROUP BY 1, 2";

namespace {

// Per-stack rows of (stack, key, count) into per-site bucket counts.
struct BucketedSites {
  struct Site {
    std::string label;
    int64_t top_stack = 0;
    int64_t top_calls = -1;
    int64_t calls = 0;
    int64_t bytes = 0;
    int64_t min = INT64_MAX, max = 0;
    std::vector<int64_t> buckets;
    absl::flat_hash_map<int64_t, int64_t> stack_calls;
  };
  BucketedSites(TraceReader* r, size_t n, const SiteLabels* l) : views(r), labels(l), buckets(n) {}
  absl::StatusOr<Site*> For(int64_t stack) {
    std::string label = "(no stack)";
    if (stack != 0) {
      ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(stack));
      label = labels->Label(*v);  // with the C++ type when `atr sites` ran
    }
    Site& s = sites[label];
    if (s.buckets.empty()) {
      s.label = label;
      s.buckets.assign(buckets, 0);
    }
    return &s;
  }
  std::vector<const Site*> Ranked(int64_t limit) {
    std::vector<const Site*> out;
    for (auto& [label, s] : sites) {
      for (auto& [stack, calls] : s.stack_calls) {
        if (calls > s.top_calls || (calls == s.top_calls && stack < s.top_stack)) {
          s.top_calls = calls;
          s.top_stack = stack;
        }
      }
      out.push_back(&s);
    }
    std::sort(out.begin(), out.end(), [](const Site* a, const Site* b) {
      return a->calls != b->calls ? a->calls > b->calls : a->label < b->label;
    });
    if (limit > 0 && static_cast<int64_t>(out.size()) > limit) out.resize(limit);
    return out;
  }
  StackViews views;
  const SiteLabels* labels;
  size_t buckets;
  absl::flat_hash_map<std::string, Site> sites;
};

}  // namespace

absl::StatusOr<ReportTable> ComputeTemporary(TraceReader& reader, const HistogramOptions& o) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kTemporaryByStackSql));
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  StackViews views(&reader);
  SiteGroups groups(&views, 3, &labels);
  while (q.Next()) {
    ATR_RETURN_IF_ERROR(groups.Add(q.Int(0), {q.Int(2), q.Int(1), q.Int(3)}));
  }
  ATR_RETURN_IF_ERROR(q.status());
  ReportTable t({{"rank", Column::kId},
                 {"calls", Column::kCount},
                 {"temporary", Column::kCount},
                 {"temporary_share", Column::kPercent},
                 {"temporary_bytes", Column::kBytes},
                 {"site", Column::kText}});
  int64_t rank = 0;
  for (const SiteGroup& g : groups.SortedBy(0)) {
    if (g.sums[0] == 0 || (o.limit && rank == o.limit)) break;
    double share = g.sums[1] ? static_cast<double>(g.sums[0]) / static_cast<double>(g.sums[1]) : 0;
    t.AddRow({Cell::Int(++rank), Cell::Int(g.sums[1]), Cell::Int(g.sums[0]), Cell::Real(share),
              Cell::Int(g.sums[2]), Cell::Text(g.site)});
  }
  return t;
}

absl::StatusOr<ReportTable> ComputeLifetimes(TraceReader& reader, const HistogramOptions& o) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kLifetimeBucketsByStackSql));
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  BucketedSites sites(&reader, 9, &labels);
  while (q.Next()) {
    ATR_ASSIGN_OR_RETURN(BucketedSites::Site * s, sites.For(q.Int(0)));
    int64_t n = q.Int(2);
    s->buckets[std::clamp<int64_t>(q.Int(1), 0, 8)] += n;
    s->calls += n;
    s->stack_calls[q.Int(0)] += n;
  }
  ATR_RETURN_IF_ERROR(q.status());
  static const char* kNames[] = {"lt_1us", "lt_10us", "lt_100us", "lt_1ms", "lt_10ms",
                                 "lt_100ms", "lt_1s", "ge_1s", "never_freed"};
  std::vector<Column> cols = {{"rank", Column::kId}, {"calls", Column::kCount}};
  for (const char* n : kNames) cols.push_back({n, Column::kCount});
  cols.push_back({"top_stack", Column::kId});
  cols.push_back({"site", Column::kText});
  ReportTable t(cols);
  int64_t rank = 0;
  for (const auto* s : sites.Ranked(o.limit)) {
    std::vector<Cell> row = {Cell::Int(++rank), Cell::Int(s->calls)};
    for (int64_t b : s->buckets) row.push_back(Cell::Int(b));
    row.push_back(Cell::Int(s->top_stack));
    row.push_back(Cell::Text(s->label));
    t.AddRow(std::move(row));
  }
  return t;
}

absl::StatusOr<ReportTable> ComputeSizes(TraceReader& reader, const HistogramOptions& o) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kSizesByStackSql));
  constexpr int kBuckets = 10;  // <=16, <=32, ..., <=4096, >4096
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  BucketedSites sites(&reader, kBuckets, &labels);
  while (q.Next()) {
    ATR_ASSIGN_OR_RETURN(BucketedSites::Site * s, sites.For(q.Int(0)));
    int64_t size = q.Int(1), n = q.Int(2);
    int b = size <= 16 ? 0 : std::min<int>(kBuckets - 1, std::bit_width(uint64_t(size - 1)) - 4);
    s->buckets[b] += n;
    s->calls += n;
    s->bytes += size * n;
    s->min = std::min(s->min, size);
    s->max = std::max(s->max, size);
    s->stack_calls[q.Int(0)] += n;
  }
  ATR_RETURN_IF_ERROR(q.status());
  std::vector<Column> cols = {{"rank", Column::kId}, {"calls", Column::kCount},
                              {"bytes", Column::kBytes}};
  for (int b = 0; b < kBuckets - 1; ++b) cols.push_back({"le_" + std::to_string(16 << b), Column::kCount});
  cols.push_back({"gt_4096", Column::kCount});
  cols.push_back({"min", Column::kCount});
  cols.push_back({"max", Column::kCount});
  cols.push_back({"site", Column::kText});
  ReportTable t(cols);
  int64_t rank = 0;
  for (const auto* s : sites.Ranked(o.limit)) {
    std::vector<Cell> row = {Cell::Int(++rank), Cell::Int(s->calls), Cell::Int(s->bytes)};
    for (int64_t b : s->buckets) row.push_back(Cell::Int(b));
    row.push_back(Cell::Int(s->min));
    row.push_back(Cell::Int(s->max));
    row.push_back(Cell::Text(s->label));
    t.AddRow(std::move(row));
  }
  return t;
}

}  // namespace atr
