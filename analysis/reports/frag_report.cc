#include "analysis/reports/frag_report.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "allocator/config.h"
#include "allocator/size_classes.h"
#include "analysis/model/site_label.h"
#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/report_table.h"
#include "base/status_macros.h"
#include "base/text_table.h"
#include "db/event_log_sql.h"
#include "db/query.h"
#include "db/table_groups.h"
#include "replayer/builtin_replay.h"
#include "replayer/replay_store.h"

namespace atr {

const char kPinningByStackSql[] =
    "SELECT a.stack, b.span_address, s.object_size, s.free_bytes, s.live_objects, "
    "b.allocation_id, " ATR_SQL_FREE_SEQ("a") " "
    "FROM replay_blame b "
    "JOIN replay_spans s ON s.replay_id = b.replay_id AND s.span_address = b.span_address "
    "CROSS JOIN event_log a ON a.seq = b.allocation_id "
    "WHERE b.replay_id = ?1";

namespace {

// Site labels, cached per stack.
class Sites {
 public:
  Sites(TraceReader* r, const SiteLabels* labels) : views_(r), labels_(labels) {}
  absl::StatusOr<std::string> Label(int64_t stack) {
    if (stack == 0) return std::string("(no stack)");
    ATR_ASSIGN_OR_RETURN(const StackView* v, views_.Get(stack));
    return labels_->Label(*v);  // with the C++ type when `atr sites` ran
  }
  absl::StatusOr<StackView> View(int64_t stack) {
    if (stack == 0) return StackView{};
    ATR_ASSIGN_OR_RETURN(const StackView* v, views_.Get(stack));
    return *v;
  }

 private:
  StackViews views_;
  const SiteLabels* labels_;
};

double Median(std::vector<int64_t>& v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return static_cast<double>(v[v.size() / 2]);
}

absl::Status LoadBreakdown(TraceReader& reader, int64_t replay, FragReport* r,
                           int32_t* pid, int64_t* last_seq) {
  ATR_ASSIGN_OR_RETURN(std::string counterfactual,
                       ColumnOrNull(reader, "replays", "counterfactual"));
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(
          reader,
          absl::StrCat("SELECT config, pid, peak_resident_seq, snapshot_seq, last_seq, ",
                       counterfactual, " FROM replays WHERE id = ?1"),
          {replay}));
  if (!q.Next()) {
    ATR_RETURN_IF_ERROR(q.status());
    return absl::NotFoundError(absl::StrCat(reader.path(), ": no replay with id ", replay));
  }
  r->config = q.Text(0);
  *pid = static_cast<int32_t>(q.Int(1));
  const int64_t peak_seq = q.IsNull(3) ? q.Int(2) : q.Int(3);
  *last_seq = q.Int(4);
  r->counterfactual = q.Text(5);
  ATR_ASSIGN_OR_RETURN(
      QueryCursor s,
      QueryCursor::Run(reader,
                       "SELECT seq, kind, live_bytes, internal_waste_bytes, free_slot_bytes, "
                       "cached_bytes, retained_bytes, released_bytes, resident_bytes, mapped_bytes "
                       "FROM replay_samples WHERE replay_id = ?1",
                       {replay}));
  std::vector<replay::ReplaySample> samples;
  while (s.Next()) {
    replay::ReplaySample x;
    x.seq = s.Int(0);
    x.kind = s.Text(1) == replay::SampleKindName(replay::SampleKind::kPeakResident)
                 ? replay::SampleKind::kPeakResident
                 : replay::SampleKind::kInterval;
    x.live_bytes = s.Int(2);
    x.internal_waste_bytes = s.Int(3);
    x.free_slot_bytes = s.Int(4);
    x.cached_bytes = s.Int(5);
    x.retained_bytes = s.Int(6);
    x.released_bytes = s.Int(7);
    x.resident_bytes = s.Int(8);
    x.mapped_bytes = s.Int(9);
    samples.push_back(x);
  }
  ATR_RETURN_IF_ERROR(s.status());
  r->peak = BreakdownAtResidentPeak(samples);
  r->peak.seq = peak_seq;  // the snapshot's event (a peak sample may be up to 16 events before)
  return absl::OkStatus();
}

absl::Status ComputePinning(TraceReader& reader, Sites& sites, const FragOptions& o,
                            int64_t last_seq, FragReport* r) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, kPinningByStackSql, {r->replay_id}));
  struct Acc {
    double pinned = 0;
    absl::flat_hash_set<int64_t> spans;
    int64_t objects = 0, never_freed = 0;
    std::vector<int64_t> ages;
    absl::flat_hash_map<int64_t, double> by_stack;
  };
  absl::flat_hash_map<std::string, Acc> acc;
  struct SpanLife {
    int64_t object_size = 0;
    int64_t min_life = INT64_MAX, max_life = 0;
  };
  absl::flat_hash_map<int64_t, SpanLife> spans;
  while (q.Next()) {
    int64_t stack = q.Int(0), span = q.Int(1), object_size = q.Int(2);
    double share = q.Int(4) ? static_cast<double>(q.Int(3)) / q.Int(4) : 0;
    int64_t id = q.Int(5);
    bool freed = !q.IsNull(6);
    ATR_ASSIGN_OR_RETURN(std::string label, sites.Label(stack));
    Acc& a = acc[label];
    a.pinned += share;
    a.spans.insert(span);
    ++a.objects;
    if (!freed) ++a.never_freed;
    a.ages.push_back(r->peak.seq - id);
    a.by_stack[stack] += share;
    r->attributed_bytes += share;
    SpanLife& sl = spans[span];
    sl.object_size = object_size;
    int64_t life = std::max<int64_t>(1, (freed ? q.Int(6) : last_seq + 1) - id);
    sl.min_life = std::min(sl.min_life, life);
    sl.max_life = std::max(sl.max_life, life);
  }
  ATR_RETURN_IF_ERROR(q.status());
  for (auto& [label, a] : acc) {
    PinningSite p;
    p.site = label;
    p.pinned_bytes = a.pinned;
    p.spans = static_cast<int64_t>(a.spans.size());
    p.live_objects = a.objects;
    p.median_age_events = Median(a.ages);
    p.never_freed_share = a.objects ? static_cast<double>(a.never_freed) / a.objects : 0;
    double best = -1;
    for (const auto& [stack, bytes] : a.by_stack) {
      if (bytes > best || (bytes == best && stack < p.top_stack)) {
        best = bytes;
        p.top_stack = stack;
      }
    }
    r->pinning.push_back(std::move(p));
  }
  std::sort(r->pinning.begin(), r->pinning.end(), [](const PinningSite& a, const PinningSite& b) {
    return a.pinned_bytes != b.pinned_bytes ? a.pinned_bytes > b.pinned_bytes : a.site < b.site;
  });
  if (static_cast<int64_t>(r->pinning.size()) > o.limit) r->pinning.resize(o.limit);
  for (PinningSite& p : r->pinning) {
    ATR_ASSIGN_OR_RETURN(StackView v, sites.View(p.top_stack));
    p.stack = std::move(v);
  }
  // Lifetime mixing: spans grouped by object size, summed in address order
  // (hash-map order varies between runs, and so would the sums' last digits).
  std::vector<std::pair<int64_t, SpanLife>> by_address(spans.begin(), spans.end());
  std::sort(by_address.begin(), by_address.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  absl::flat_hash_map<int64_t, std::pair<int64_t, double>> mixing;
  for (const auto& [span, sl] : by_address) {
    auto& m = mixing[sl.object_size];
    ++m.first;
    m.second += std::log10(static_cast<double>(sl.max_life) / static_cast<double>(sl.min_life));
  }
  for (const auto& [size, m] : mixing) {
    r->mixing.push_back({size, m.first, m.second / static_cast<double>(m.first)});
  }
  std::sort(r->mixing.begin(), r->mixing.end(), [](const MixingClass& a, const MixingClass& b) {
    return a.mixing_decades != b.mixing_decades ? a.mixing_decades > b.mixing_decades
                                                : a.class_size < b.class_size;
  });
  if (static_cast<int64_t>(r->mixing.size()) > o.limit) r->mixing.resize(o.limit);
  return absl::OkStatus();
}

absl::Status ComputeWaste(TraceReader& reader, Sites& sites, const FragOptions& o, int32_t pid,
                          FragReport* r) {
  ATR_ASSIGN_OR_RETURN(alloc::Config cfg, alloc::ParseSerializedConfig(r->config));
  ATR_ASSIGN_OR_RETURN(alloc::SizeClasses classes, alloc::SizeClasses::Create(cfg));
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(
          reader,
          "SELECT a.stack, a.size, CASE WHEN a.op IN (6, 7, 8, 24, 25, 26, 27) THEN a.arg "
          "ELSE 0 END, count(*) "
          "FROM (SELECT a.*, " ATR_SQL_FREE_SEQ(
              "a") " AS free_seq FROM event_log a "
                   "WHERE a.seq <= ?1 AND " ATR_SQL_IS_ALLOCATION(
                       "a") ") a "
                            "WHERE (a.free_seq IS NULL OR a.free_seq > ?1) "
                            "AND a.thread IN (SELECT id FROM threads WHERE pid = ?2) GROUP BY 1, "
                            "2, 3",
          {r->peak.seq, pid}));
  struct ClassAcc {
    int64_t objects = 0, waste = 0;
    absl::flat_hash_map<std::string, int64_t> by_site;
  };
  absl::flat_hash_map<int64_t, ClassAcc> by_class;
  while (q.Next()) {
    int64_t size = q.Int(1), align = q.Int(2), n = q.Int(3);
    uint32_t cls = classes.ClassFor(static_cast<uint64_t>(std::max<int64_t>(size, 1)),
                                    static_cast<uint64_t>(align));
    if (cls == 0) continue;  // large object: page-rounded, not a size class
    int64_t class_size = classes.info(cls).size;
    ATR_ASSIGN_OR_RETURN(std::string label, sites.Label(q.Int(0)));
    ClassAcc& c = by_class[class_size];
    c.objects += n;
    c.waste += (class_size - size) * n;
    c.by_site[label] += (class_size - size) * n;
  }
  ATR_RETURN_IF_ERROR(q.status());
  for (const auto& [size, c] : by_class) {
    WasteClass w{size, c.objects, c.waste, ""};
    int64_t best = -1;
    for (const auto& [site, waste] : c.by_site) {
      if (waste > best || (waste == best && site < w.top_site)) {
        best = waste;
        w.top_site = site;
      }
    }
    if (w.waste_bytes > 0) r->waste.push_back(std::move(w));
  }
  std::sort(r->waste.begin(), r->waste.end(), [](const WasteClass& a, const WasteClass& b) {
    return a.waste_bytes != b.waste_bytes ? a.waste_bytes > b.waste_bytes
                                          : a.class_size < b.class_size;
  });
  if (static_cast<int64_t>(r->waste.size()) > o.limit) r->waste.resize(o.limit);
  return absl::OkStatus();
}

absl::Status ComputeSurvivors(TraceReader& reader, Sites& sites, const FragOptions& o, int32_t pid,
                              FragReport* r) {
  r->survivor_window = std::max<int64_t>(1, r->peak.seq / 10);
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(
          reader,
          "SELECT a.stack, count(*), sum(a.size) "
          "FROM (SELECT a.*, " ATR_SQL_FREE_SEQ(
              "a") " AS free_seq FROM event_log a "
                   "WHERE a.seq > ?1 - ?2 AND a.seq <= ?1 AND " ATR_SQL_IS_ALLOCATION(
                       "a") ") a "
                            "WHERE (a.free_seq IS NULL OR a.free_seq > ?1) "
                            "AND a.thread IN (SELECT id FROM threads WHERE pid = ?3) GROUP BY 1",
          {r->peak.seq, r->survivor_window, pid}));
  absl::flat_hash_map<std::string, SurvivorSite> by_site;
  while (q.Next()) {
    ATR_ASSIGN_OR_RETURN(std::string label, sites.Label(q.Int(0)));
    SurvivorSite& s = by_site[label];
    s.site = label;
    s.objects += q.Int(1);
    s.bytes += q.Int(2);
  }
  ATR_RETURN_IF_ERROR(q.status());
  for (auto& [label, s] : by_site) r->survivors.push_back(std::move(s));
  std::sort(r->survivors.begin(), r->survivors.end(),
            [](const SurvivorSite& a, const SurvivorSite& b) {
              return a.bytes != b.bytes ? a.bytes > b.bytes : a.site < b.site;
            });
  if (static_cast<int64_t>(r->survivors.size()) > o.limit) r->survivors.resize(o.limit);
  return absl::OkStatus();
}

}  // namespace

FragBreakdown BreakdownAtResidentPeak(const std::vector<replay::ReplaySample>& samples) {
  const replay::ReplaySample* best = nullptr;
  for (const replay::ReplaySample& x : samples) {
    auto key = [](const replay::ReplaySample& v) {
      return std::make_tuple(v.resident_bytes, v.kind == replay::SampleKind::kPeakResident,
                             -v.seq);
    };
    if (best == nullptr || key(x) > key(*best)) best = &x;
  }
  FragBreakdown b;
  if (best == nullptr) return b;
  // Unknown metrics (real allocators) count as 0 here.
  auto known = [](int64_t v) { return v == replay::kUnknown ? 0 : v; };
  b.seq = best->seq;
  b.live = best->live_bytes;
  b.internal_waste = known(best->internal_waste_bytes);
  b.free_slots = known(best->free_slot_bytes);
  b.cached = known(best->cached_bytes);
  b.retained = known(best->retained_bytes);
  b.released = known(best->released_bytes);
  b.resident = best->resident_bytes;
  b.mapped = known(best->mapped_bytes);
  b.fragmentation = b.resident ? 1.0 - static_cast<double>(b.live) / b.resident : 0;
  return b;
}

absl::StatusOr<FragReport> ComputeFrag(TraceReader& reader, const FragOptions& o) {
  FragReport r;
  if (o.replay_id) {
    r.replay_id = *o.replay_id;
  } else {
    ATR_ASSIGN_OR_RETURN(r.replay_id, replay::NewestBuiltinSnapshotReplay(reader));
    if (r.replay_id == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(reader.path(), ": no built-in replay with a span snapshot (run atr replay)"));
    }
  }
  int32_t pid = 0;
  int64_t last_seq = 0;
  ATR_RETURN_IF_ERROR(LoadBreakdown(reader, r.replay_id, &r, &pid, &last_seq));
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  Sites sites(&reader, &labels);
  ATR_RETURN_IF_ERROR(ComputePinning(reader, sites, o, last_seq, &r));
  ATR_RETURN_IF_ERROR(ComputeWaste(reader, sites, o, pid, &r));
  ATR_RETURN_IF_ERROR(ComputeSurvivors(reader, sites, o, pid, &r));
  return r;
}

std::string RenderFragText(const FragReport& r) {
  const FragBreakdown& b = r.peak;
  std::string out = absl::StrCat(
      "Fragmentation at the peak of modelled resident memory (replay ", r.replay_id,
      r.counterfactual.empty() ? "" : absl::StrCat(", counterfactual: ", r.counterfactual),
      ", seq ", b.seq, "): ", FormatBytes(b.resident), " resident for ", FormatBytes(b.live),
      " live, ", static_cast<int>(std::lround(b.fragmentation * 100)), "% fragmentation\n\n");
  auto pct = [&](int64_t v) {
    return b.resident ? absl::StrCat(std::lround(100.0 * v / b.resident), "%") : std::string("-");
  };
  TextTable t({"", "bytes", "of resident"}, {Align::kLeft, Align::kRight, Align::kRight});
  t.AddRow({"live (requested)", FormatBytes(b.live), pct(b.live)});
  t.AddRow({"internal waste (class rounding)", FormatBytes(b.internal_waste), pct(b.internal_waste)});
  t.AddRow({"free slots in partly used spans", FormatBytes(b.free_slots), pct(b.free_slots)});
  t.AddRow({"cached in thread caches", FormatBytes(b.cached), pct(b.cached)});
  t.AddRow({"free pages retained", FormatBytes(b.retained), pct(b.retained)});
  t.AddRow({"released to the OS (not resident)", FormatBytes(b.released), ""});
  out += t.Render();

  absl::StrAppend(&out, "\nPinning sites: whose live objects keep partly used spans (",
                  FormatBytes(static_cast<int64_t>(r.attributed_bytes)),
                  " of free slots attributed)\n");
  if (r.pinning.empty()) out += "  (no partly used spans at the peak)\n";
  for (size_t i = 0; i < r.pinning.size(); ++i) {
    const PinningSite& p = r.pinning[i];
    absl::StrAppend(&out, "\n#", i + 1, "  ", FormatBytes(static_cast<int64_t>(p.pinned_bytes)),
                    " pinned in ", p.spans, " spans by ", p.live_objects, " live objects  ",
                    p.site, "\n    median age ", static_cast<int64_t>(p.median_age_events),
                    " events, ", std::lround(p.never_freed_share * 100),
                    "% never freed\n");
    out += RenderStackText(p.stack, "    ");
  }
  if (!r.waste.empty()) {
    out += "\nSize classes with the most internal waste\n";
    TextTable w({"class", "objects", "waste", "fed mostly by"},
                {Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
    for (const WasteClass& c : r.waste) {
      w.AddRow({FormatBytes(c.class_size), FormatCount(c.objects), FormatBytes(c.waste_bytes),
                c.top_site});
    }
    out += w.Render();
  }
  if (!r.survivors.empty()) {
    absl::StrAppend(&out, "\nPeak survivors: allocated in the ", r.survivor_window,
                    " events before the peak, still live after it\n");
    TextTable s({"objects", "bytes", "site"}, {Align::kRight, Align::kRight, Align::kLeft});
    for (const SurvivorSite& v : r.survivors) {
      s.AddRow({FormatCount(v.objects), FormatBytes(v.bytes), v.site});
    }
    out += s.Render();
  }
  if (!r.mixing.empty()) {
    out += "\nLifetime mixing in partly used spans (decades between span-mates' lifetimes)\n";
    TextTable m({"class", "spans", "mixing"}, {Align::kRight, Align::kRight, Align::kRight});
    for (const MixingClass& c : r.mixing) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.1f", c.mixing_decades);
      m.AddRow({FormatBytes(c.class_size), FormatCount(c.spans), buf});
    }
    out += m.Render();
  }
  if (r.verified_ran) {
    absl::StrAppend(&out, "\nVerified: each site segregated in a heap of its own, trace replayed "
                          "(peak resident ", FormatBytes(r.verify_baseline), " as recorded)\n");
    if (r.verified.empty()) out += "  (no pinning sites to verify)\n";
    TextTable v({"rank", "saved", "of peak", "estimate", "est. rank", "site"},
                {Align::kRight, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                 Align::kLeft});
    for (size_t i = 0; i < r.verified.size(); ++i) {
      const VerifiedSite& x = r.verified[i];
      char share[16];
      std::snprintf(share, sizeof share, "%.1f%%", x.saved_share * 100);
      v.AddRow({absl::StrCat(i + 1), FormatBytes(x.saved_bytes), share,
                FormatBytes(static_cast<int64_t>(x.pinned_bytes)),
                absl::StrCat("#", x.estimated_rank), x.site});
    }
    if (!r.verified.empty()) out += v.Render();
  }
  return out;
}

std::string RenderFragJson(const FragReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Key("replay_id").Int(r.replay_id);
  j.Key("counterfactual");
  if (r.counterfactual.empty()) j.Null(); else j.String(r.counterfactual);
  const FragBreakdown& b = r.peak;
  j.Key("peak").BeginObject();
  j.Key("seq").Int(b.seq).Key("live_bytes").Int(b.live).Key("internal_waste_bytes").Int(b.internal_waste);
  j.Key("free_slot_bytes").Int(b.free_slots).Key("cached_bytes").Int(b.cached);
  j.Key("retained_bytes").Int(b.retained).Key("released_bytes").Int(b.released);
  j.Key("resident_bytes").Int(b.resident).Key("mapped_bytes").Int(b.mapped);
  j.Key("fragmentation").Double(b.fragmentation);
  j.EndObject();
  j.Key("attributed_bytes").Double(r.attributed_bytes);
  j.Key("pinning").BeginArray();
  for (const PinningSite& p : r.pinning) {
    j.BeginObject();
    j.Key("site").String(p.site).Key("pinned_bytes").Double(p.pinned_bytes);
    j.Key("spans").Int(p.spans).Key("live_objects").Int(p.live_objects);
    j.Key("median_age_events").Double(p.median_age_events);
    j.Key("never_freed_share").Double(p.never_freed_share);
    j.Key("stack").Int(p.top_stack).Key("frames");
    WriteStackJson(j, p.stack);
    j.EndObject();
  }
  j.EndArray();
  j.Key("waste_classes").BeginArray();
  for (const WasteClass& c : r.waste) {
    j.BeginObject().Key("class_size").Int(c.class_size).Key("objects").Int(c.objects);
    j.Key("waste_bytes").Int(c.waste_bytes).Key("top_site").String(c.top_site).EndObject();
  }
  j.EndArray();
  j.Key("survivor_window").Int(r.survivor_window);
  j.Key("survivors").BeginArray();
  for (const SurvivorSite& s : r.survivors) {
    j.BeginObject().Key("site").String(s.site).Key("objects").Int(s.objects);
    j.Key("bytes").Int(s.bytes).EndObject();
  }
  j.EndArray();
  j.Key("mixing").BeginArray();
  for (const MixingClass& m : r.mixing) {
    j.BeginObject().Key("class_size").Int(m.class_size).Key("spans").Int(m.spans);
    j.Key("mixing_decades").Double(m.mixing_decades).EndObject();
  }
  j.EndArray();
  if (r.verified_ran) {
    j.Key("verify").BeginObject().Key("baseline_peak_resident_bytes").Int(r.verify_baseline);
    j.Key("sites").BeginArray();
    for (const VerifiedSite& x : r.verified) {
      j.BeginObject().Key("site").String(x.site).Key("estimated_rank").Int(x.estimated_rank);
      j.Key("pinned_bytes").Double(x.pinned_bytes).Key("stacks").Int(x.stacks);
      j.Key("peak_resident_bytes").Int(x.peak_resident).Key("saved_bytes").Int(x.saved_bytes);
      j.Key("saved_share").Double(x.saved_share).EndObject();
    }
    j.EndArray().EndObject();
  }
  j.EndObject();
  return j.str() + "\n";
}

std::string RenderFragCsv(const FragReport& r) {
  std::vector<Column> cols = {{"rank", Column::kCount},
                              {"pinned_bytes", Column::kReal},
                              {"spans", Column::kCount},
                              {"live_objects", Column::kCount},
                              {"median_age_events", Column::kReal},
                              {"never_freed_share", Column::kReal},
                              {"stack", Column::kId}};
  if (r.verified_ran) {
    cols.push_back({"saved_bytes", Column::kBytes});
    cols.push_back({"verified_rank", Column::kCount});
  }
  cols.push_back({"site", Column::kText});
  ReportTable t(std::move(cols));
  for (size_t i = 0; i < r.pinning.size(); ++i) {
    const PinningSite& p = r.pinning[i];
    std::vector<Cell> row = {Cell::Int(static_cast<int64_t>(i + 1)), Cell::Real(p.pinned_bytes),
                             Cell::Int(p.spans), Cell::Int(p.live_objects),
                             Cell::Real(p.median_age_events), Cell::Real(p.never_freed_share),
                             Cell::Int(p.top_stack)};
    if (r.verified_ran) {
      Cell saved = Cell::Null(), rank = Cell::Null();
      for (size_t k = 0; k < r.verified.size(); ++k) {
        if (r.verified[k].estimated_rank == static_cast<int>(i + 1)) {
          saved = Cell::Int(r.verified[k].saved_bytes);
          rank = Cell::Int(static_cast<int64_t>(k + 1));
        }
      }
      row.push_back(saved);
      row.push_back(rank);
    }
    row.push_back(Cell::Text(p.site));
    t.AddRow(std::move(row));
  }
  return t.RenderCsv();
}

}  // namespace atr
