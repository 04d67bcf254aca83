#include "analysis/reports/whatif_report.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "allocator/config.h"
#include "analysis/model/flame_graph.h"
#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"
#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/status_macros.h"
#include "db/query.h"
#include "db/table_groups.h"
#include "replayer/builtin_replay.h"
#include "replayer/replay_engine.h"
#include "replayer/replay_store.h"

namespace atr {
namespace {

// One distinct allocation stack and the names its site goes by.
struct LabeledStack {
  int64_t stack = 0;
  std::string label;       // as the reports print it (SiteLabels)
  std::string site_label;  // "function file:line"
  std::string function;    // demangled function of the site line; empty if none
};

absl::StatusOr<std::vector<LabeledStack>> AllocationStacks(TraceReader& reader) {
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(reader,
                       "SELECT DISTINCT coalesce(stack, 0) FROM event_log "
                       "WHERE op IN (SELECT code FROM ops WHERE role = 'acquire') ORDER BY 1"));
  std::vector<int64_t> ids;
  while (q.Next()) ids.push_back(q.Int(0));
  ATR_RETURN_IF_ERROR(q.status());
  ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));
  StackViews views(&reader);
  std::vector<LabeledStack> out;
  for (int64_t id : ids) {
    LabeledStack s;
    s.stack = id;
    if (id == 0) {
      s.label = s.site_label = "(no stack)";  // as the reports print it
    } else {
      ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(id));
      s.label = labels.Label(*v);
      s.site_label = v->site_label;
      if (v->site_line >= 0) s.function = v->lines[v->site_line].function;
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool SiteMatches(const std::string& site, const LabeledStack& s) {
  if (site == s.label || site == s.site_label || site == s.function) return true;
  if (s.function.empty()) return false;
  const std::string bare = FlameFrameName(s.function, /*signatures=*/false);
  return site == bare || absl::EndsWith(bare, absl::StrCat("::", site));
}

absl::StatusOr<int64_t> MaxSeq(TraceReader& reader) {
  return QueryScalar(reader, "SELECT max(seq) FROM event_log");
}

// One built-in replay, reporting progress under `label`.
absl::StatusOr<replay::ReplayRun> Replay(TraceReader& reader, replay::BuiltinReplayOptions o,
                                         const PhaseProgress& progress, const std::string& label,
                                         int64_t last_seq) {
  if (progress) o.progress = [&](int64_t seq) { progress(label, seq, last_seq); };
  return replay::RunBuiltinReplay(&reader, o);
}

WhatIfSide SideOf(const replay::ReplayRun& run) {
  const replay::ReplaySummary& s = run.summary;
  WhatIfSide side;
  side.config = s.config;
  side.peak_resident = s.peak_resident_bytes;
  side.peak_live = s.peak_live_bytes;
  side.live_at_peak_resident = s.live_at_peak_resident;
  side.final_resident = s.final_resident_bytes;
  side.fragmentation = s.fragmentation_at_peak;
  side.breakdown = BreakdownAtResidentPeak(run.samples);
  side.breakdown.seq = s.peak_resident_seq;  // exact (the peak sample may be a few events early)
  return side;
}

const char* KindName(WhatIfChange::Kind k) {
  switch (k) {
    case WhatIfChange::Kind::kSegregate: return "segregate";
    case WhatIfChange::Kind::kDrop: return "drop";
    case WhatIfChange::Kind::kConfig: return "config";
  }
  return "?";
}

}  // namespace

std::string WhatIfChange::Describe() const {
  return absl::StrCat(KindName(kind), " ",
                      kind == Kind::kConfig ? absl::StrJoin(config, " ") : site);
}

absl::StatusOr<SiteStacks> FindSiteStacks(TraceReader& reader, const std::string& site) {
  ATR_ASSIGN_OR_RETURN(std::vector<LabeledStack> all, AllocationStacks(reader));
  SiteStacks out;
  for (const LabeledStack& s : all) {
    if (!SiteMatches(site, s)) continue;
    out.stacks.insert(s.stack);
    out.labels.push_back(s.label);
  }
  std::sort(out.labels.begin(), out.labels.end());
  out.labels.erase(std::unique(out.labels.begin(), out.labels.end()), out.labels.end());
  return out;
}

absl::StatusOr<WhatIfReport> RunWhatIf(const std::string& trace_path, const WhatIfOptions& o) {
  WhatIfReport r;
  r.trace = trace_path;
  r.change = o.change;
  // Both configurations are checked before anything runs.
  ATR_ASSIGN_OR_RETURN(alloc::Config base, alloc::ParseConfig(o.base_config));
  replay::BuiltinReplayOptions cf;
  cf.config = base;
  if (o.change.kind == WhatIfChange::Kind::kConfig) {
    if (o.change.config.empty()) return absl::InvalidArgumentError("--config needs key=value");
    std::vector<std::string> items = o.base_config;
    items.insert(items.end(), o.change.config.begin(), o.change.config.end());
    ATR_ASSIGN_OR_RETURN(alloc::Config changed, alloc::ParseConfig(items));
    cf.config = changed;
  }

  ATR_ASSIGN_OR_RETURN(TraceReader reader, TraceReader::Open(trace_path));
  if (o.pid) {
    r.pid = *o.pid;
  } else {
    ATR_ASSIGN_OR_RETURN(int32_t pid, replay::DefaultPid(reader));
    r.pid = pid;
  }
  if (o.change.kind != WhatIfChange::Kind::kConfig) {
    ATR_ASSIGN_OR_RETURN(SiteStacks found, FindSiteStacks(reader, o.change.site));
    if (found.stacks.empty()) {
      return absl::NotFoundError(absl::StrCat(
          trace_path, ": '", o.change.site,
          "' matches no allocation site (give a function name as atr top or atr frag print it)"));
    }
    r.matched_sites = std::move(found.labels);
    r.matched_stacks = static_cast<int64_t>(found.stacks.size());
    (o.change.kind == WhatIfChange::Kind::kSegregate ? cf.segregate_stacks : cf.drop_stacks) =
        std::move(found.stacks);
  }
  ATR_ASSIGN_OR_RETURN(int64_t last, MaxSeq(reader));

  replay::BuiltinReplayOptions bo;
  bo.config = base;
  bo.pid = r.pid;
  bo.span_snapshot = false;
  ATR_ASSIGN_OR_RETURN(replay::ReplayRun baseline,
                       Replay(reader, bo, o.progress, "replaying as recorded", last));
  r.baseline = SideOf(baseline);

  cf.pid = r.pid;
  cf.span_snapshot = o.store;  // so that atr frag --replay ID can explain it
  ATR_ASSIGN_OR_RETURN(
      replay::ReplayRun run,
      Replay(reader, cf, o.progress, absl::StrCat("replaying: ", o.change.Describe()), last));
  r.counterfactual = SideOf(run);
  if (o.store) {
    ATR_ASSIGN_OR_RETURN(int64_t id, replay::StoreReplay(trace_path, run, o.change.Describe()));
    r.replay_id = id;
  }
  return r;
}

ReportTable WhatIfTable(const WhatIfReport& r) {
  ReportTable t({{"metric", Column::kText},
                 {"baseline", Column::kBytes},
                 {"counterfactual", Column::kBytes},
                 {"change", Column::kBytes},
                 {"change_percent", Column::kPercent}});
  auto row = [&](const char* name, int64_t WhatIfSide::*field, int64_t FragBreakdown::*part) {
    const int64_t a = field ? r.baseline.*field : r.baseline.breakdown.*part;
    const int64_t b = field ? r.counterfactual.*field : r.counterfactual.breakdown.*part;
    t.AddRow({Cell::Text(name), Cell::Int(a), Cell::Int(b), Cell::Int(b - a),
              a != 0 ? Cell::Real(static_cast<double>(b - a) / static_cast<double>(a))
                     : Cell::Null()});
  };
  row("peak_resident_bytes", &WhatIfSide::peak_resident, nullptr);
  row("peak_live_bytes", &WhatIfSide::peak_live, nullptr);
  row("live_at_peak_resident_bytes", &WhatIfSide::live_at_peak_resident, nullptr);
  const int64_t fa = r.baseline.fragmentation_bytes(), fb = r.counterfactual.fragmentation_bytes();
  t.AddRow({Cell::Text("fragmentation_bytes"), Cell::Int(fa), Cell::Int(fb), Cell::Int(fb - fa),
            fa != 0 ? Cell::Real(static_cast<double>(fb - fa) / static_cast<double>(fa))
                    : Cell::Null()});
  row("internal_waste_bytes", nullptr, &FragBreakdown::internal_waste);
  row("free_slot_bytes", nullptr, &FragBreakdown::free_slots);
  row("cached_bytes", nullptr, &FragBreakdown::cached);
  row("retained_bytes", nullptr, &FragBreakdown::retained);
  row("final_resident_bytes", &WhatIfSide::final_resident, nullptr);
  return t;
}

std::string RenderWhatIfText(const WhatIfReport& r) {
  std::string out = absl::StrCat("What if: ", r.change.Describe(), " (pid ", r.pid, ")\n");
  if (!r.matched_sites.empty()) {
    absl::StrAppend(&out, "  ", r.matched_stacks, " allocation stack",
                    r.matched_stacks == 1 ? "" : "s", " of ", r.matched_sites.size(), " site",
                    r.matched_sites.size() == 1 ? "" : "s", ":\n");
    for (const std::string& s : r.matched_sites) absl::StrAppend(&out, "    ", s, "\n");
  }
  const int64_t saved = r.baseline.peak_resident - r.counterfactual.peak_resident;
  absl::StrAppend(
      &out, "Peak modelled resident: ", FormatBytes(r.baseline.peak_resident), " as recorded, ",
      FormatBytes(r.counterfactual.peak_resident), " with the change (",
      saved >= 0 ? absl::StrCat(FormatBytes(saved), " saved") :
                   absl::StrCat(FormatBytes(-saved), " more"),
      "); fragmentation at the peak ", std::lround(r.baseline.fragmentation * 100), "% -> ",
      std::lround(r.counterfactual.fragmentation * 100), "%\n\n");
  out += WhatIfTable(r).RenderText();
  if (r.replay_id != 0) {
    absl::StrAppend(&out, "\nStored as replay ", r.replay_id, " (atr frag ", r.trace,
                    " --replay ", r.replay_id, " explains it)\n");
  }
  return out;
}

std::string RenderWhatIfJson(const WhatIfReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Key("trace").String(r.trace).Key("pid").Int(r.pid);
  j.Key("change").BeginObject().Key("kind").String(KindName(r.change.kind));
  j.Key("site");
  if (r.change.kind == WhatIfChange::Kind::kConfig) j.Null(); else j.String(r.change.site);
  j.Key("config").BeginArray();
  for (const std::string& c : r.change.config) j.String(c);
  j.EndArray().Key("description").String(r.change.Describe()).EndObject();
  j.Key("matched_stacks").Int(r.matched_stacks);
  j.Key("matched_sites").BeginArray();
  for (const std::string& s : r.matched_sites) j.String(s);
  j.EndArray();
  j.Key("replay_id");
  if (r.replay_id != 0) j.Int(r.replay_id); else j.Null();
  using NamedSide = std::pair<const char*, const WhatIfSide*>;
  for (const auto& [name, side] :
       {NamedSide{"baseline", &r.baseline}, NamedSide{"counterfactual", &r.counterfactual}}) {
    j.Key(name).BeginObject().Key("config").String(side->config);
    j.Key("fragmentation_at_peak").Double(side->fragmentation);
    j.Key("peak_seq").Int(side->breakdown.seq).EndObject();
  }
  j.Key("metrics");
  WhatIfTable(r).WriteJson(j);
  j.EndObject();
  return j.str() + "\n";
}

absl::Status VerifyPinningSites(const std::string& trace_path, int64_t k,
                                const PhaseProgress& progress, FragReport* frag) {
  ATR_ASSIGN_OR_RETURN(TraceReader reader, TraceReader::Open(trace_path));
  ATR_ASSIGN_OR_RETURN(std::string counterfactual,
                       ColumnOrNull(reader, "replays", "counterfactual"));
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(
          reader, absl::StrCat("SELECT allocator, config, pid, until_seq, peak_resident_bytes, ",
                               counterfactual,
                               " FROM replays WHERE id = ", frag->replay_id)));
  if (!q.Next()) {
    ATR_RETURN_IF_ERROR(q.status());
    return absl::NotFoundError(
        absl::StrCat(trace_path, ": no replay with id ", frag->replay_id));
  }
  if (q.Text(0) != "builtin" || !q.IsNull(5)) {
    return absl::FailedPreconditionError(absl::StrCat(
        trace_path, ": --verify needs a built-in replay of the program as recorded; replay ",
        frag->replay_id, " is ", q.IsNull(5) ? q.Text(0) : q.Text(5)));
  }
  ATR_ASSIGN_OR_RETURN(alloc::Config cfg, alloc::ParseSerializedConfig(q.Text(1)));
  replay::BuiltinReplayOptions o;
  o.config = cfg;
  o.pid = static_cast<int32_t>(q.Int(2));
  if (!q.IsNull(3)) o.until_seq = q.Int(3);
  o.span_snapshot = false;
  frag->verify_baseline = q.Int(4);
  frag->verified_ran = true;

  ATR_ASSIGN_OR_RETURN(std::vector<LabeledStack> all, AllocationStacks(reader));
  absl::flat_hash_map<std::string, absl::flat_hash_set<int64_t>> by_label;
  for (const LabeledStack& s : all) by_label[s.label].insert(s.stack);
  ATR_ASSIGN_OR_RETURN(int64_t last, MaxSeq(reader));

  const size_t n = std::min<size_t>(static_cast<size_t>(k), frag->pinning.size());
  for (size_t i = 0; i < n; ++i) {
    const PinningSite& p = frag->pinning[i];
    o.segregate_stacks = by_label[p.site];
    ATR_ASSIGN_OR_RETURN(
        replay::ReplayRun run,
        Replay(reader, o, progress, absl::StrCat("verifying ", i + 1, "/", n), last));
    VerifiedSite v;
    v.site = p.site;
    v.estimated_rank = static_cast<int>(i + 1);
    v.pinned_bytes = p.pinned_bytes;
    v.stacks = static_cast<int64_t>(o.segregate_stacks.size());
    v.peak_resident = run.summary.peak_resident_bytes;
    v.saved_bytes = frag->verify_baseline - v.peak_resident;
    v.saved_share = frag->verify_baseline
                        ? static_cast<double>(v.saved_bytes) / frag->verify_baseline
                        : 0;
    frag->verified.push_back(std::move(v));
  }
  std::stable_sort(frag->verified.begin(), frag->verified.end(),
                   [](const VerifiedSite& a, const VerifiedSite& b) {
                     return a.saved_bytes > b.saved_bytes;
                   });
  return absl::OkStatus();
}

}  // namespace atr
