#include "analysis/reports/replay_report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/number_format.h"
#include "base/report_table.h"
#include "base/status_macros.h"
#include "base/text_table.h"

namespace atr::replay {
namespace {

std::string Hex(uint64_t v) { return absl::StrCat("0x", absl::Hex(v)); }

std::string Ms(int64_t ns) { return absl::StrFormat("%.3f ms", static_cast<double>(ns) / 1e6); }

std::string Pct(double f) { return absl::StrFormat("%.1f%%", f * 100.0); }

// "seq 9, 27.664 ms, thread 18613: free"
std::string Where(const EventRef& r) {
  return absl::StrCat("seq ", r.seq, ", ", Ms(r.ts_ns), ", thread ", r.tid, ": ", OpLabel(r.op));
}

absl::Status AppendStack(std::string* out, StackViews* views, StackId stack,
                         const std::string& indent) {
  if (stack == 0) {
    absl::StrAppend(out, indent, "  (no stack recorded)\n");
    return absl::OkStatus();
  }
  ATR_ASSIGN_OR_RETURN(const StackView* v, views->Get(stack));
  absl::StrAppend(out, RenderStackText(*v, indent));
  return absl::OkStatus();
}

absl::Status WriteRefJson(JsonWriter& j, std::string_view key, const EventRef& r,
                          StackViews* views) {
  j.Key(key);
  if (r.seq == 0) {
    j.Null();
    return absl::OkStatus();
  }
  j.BeginObject();
  j.Key("seq").Int(r.seq);
  j.Key("ts_ns").Int(r.ts_ns);
  j.Key("tid").Int(r.tid);
  j.Key("op").String(OpName(r.op));
  j.Key("size").Uint(r.size);
  j.Key("stack_id").Int(r.stack);
  j.Key("stack");
  if (r.stack == 0) {
    j.BeginArray().EndArray();
  } else {
    ATR_ASSIGN_OR_RETURN(const StackView* v, views->Get(r.stack));
    WriteStackJson(j, *v);
  }
  j.EndObject();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RenderProblemsText(const ProblemLog& log, StackViews* views,
                                               int limit) {
  std::string out;
  if (log.total() == 0) return std::string("no problems found\n");
  // Summary line per kind.
  absl::StrAppend(&out, "problems found:\n");
  for (int k = 0; k < kProblemKindCount; ++k) {
    int64_t n = log.count(static_cast<ProblemKind>(k));
    if (n > 0) {
      absl::StrAppendFormat(&out, "  %10s  %s\n", FormatCount(n),
                            AV(ProblemKindTitle(static_cast<ProblemKind>(k))));
    }
  }
  int shown = 0;
  for (const Problem& p : log.problems()) {
    if (p.kind == ProblemKind::kLeak) continue;
    if (limit > 0 && shown >= limit) {
      absl::StrAppend(&out, "\n(more problems not shown; use --limit 0 for all)\n");
      break;
    }
    ++shown;
    absl::StrAppend(&out, "\n", AV(ProblemKindTitle(p.kind)));
    if (p.offending.seq != 0 && p.kind != ProblemKind::kUnfinishedTrace) {
      absl::StrAppend(&out, " at seq ", p.offending.seq, " (", Ms(p.offending.ts_ns), ", pid ",
                      p.pid, ", thread ", p.offending.tid, "): ", OpLabel(p.offending.op), "(",
                      Hex(p.addr), ")");
    }
    out += '\n';
    if (!p.detail.empty()) absl::StrAppend(&out, "  ", p.detail, "\n");
    if (p.kind == ProblemKind::kUnfinishedTrace || p.kind == ProblemKind::kUnknownOp) continue;
    absl::StrAppend(&out, "  offending call (", Where(p.offending), "):\n");
    ATR_RETURN_IF_ERROR(AppendStack(&out, views, p.offending.stack, "    "));
    if (p.allocation.seq != 0) {
      absl::StrAppend(&out, "  allocated (", Where(p.allocation), " ",
                      FormatBytes(static_cast<int64_t>(p.allocation.size)), "):\n");
      ATR_RETURN_IF_ERROR(AppendStack(&out, views, p.allocation.stack, "    "));
    } else {
      absl::StrAppend(&out, "  never allocated in this trace\n");
    }
    if (p.first_release.seq != 0) {
      absl::StrAppend(&out, "  first released (", Where(p.first_release), "):\n");
      ATR_RETURN_IF_ERROR(AppendStack(&out, views, p.first_release.stack, "    "));
    }
  }
  // Leaks by allocation stack.
  struct Group {
    int64_t blocks = 0, bytes = 0, first_seq = 0;
  };
  std::map<StackId, Group> groups;
  for (const Problem& p : log.problems()) {
    if (p.kind != ProblemKind::kLeak) continue;
    Group& g = groups[p.allocation.stack];
    if (g.blocks == 0) g.first_seq = p.allocation.seq;
    ++g.blocks;
    g.bytes += static_cast<int64_t>(p.allocation.size);
  }
  if (!groups.empty()) {
    std::vector<std::pair<StackId, Group>> sorted(groups.begin(), groups.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second.bytes != b.second.bytes ? a.second.bytes > b.second.bytes
                                              : a.first < b.first;
    });
    absl::StrAppend(&out, "\nleaks at exit, by allocation stack:\n");
    int n = 0;
    for (const auto& [stack, g] : sorted) {
      if (limit > 0 && n++ >= limit) break;
      absl::StrAppend(&out, "  ", FormatBytes(g.bytes), " in ", FormatCount(g.blocks),
                      g.blocks == 1 ? " block" : " blocks", ", first allocated at seq ", g.first_seq,
                      ":\n");
      ATR_RETURN_IF_ERROR(AppendStack(&out, views, stack, "    "));
    }
  }
  return out;
}

absl::Status WriteProblemsJson(JsonWriter& j, const ProblemLog& log, StackViews* views,
                               int limit) {
  j.Key("counts").BeginObject();
  for (int k = 0; k < kProblemKindCount; ++k) {
    j.Key(ProblemKindName(static_cast<ProblemKind>(k))).Int(log.count(static_cast<ProblemKind>(k)));
  }
  j.EndObject();
  j.Key("problems").BeginArray();
  int shown = 0;
  for (const Problem& p : log.problems()) {
    if (limit > 0 && shown++ >= limit) break;
    j.BeginObject();
    j.Key("kind").String(ProblemKindName(p.kind));
    j.Key("pid").Int(p.pid);
    j.Key("addr").Uint(p.addr);
    j.Key("detail").String(p.detail);
    ATR_RETURN_IF_ERROR(WriteRefJson(j, "call", p.offending, views));
    ATR_RETURN_IF_ERROR(WriteRefJson(j, "allocation", p.allocation, views));
    ATR_RETURN_IF_ERROR(WriteRefJson(j, "first_release", p.first_release, views));
    j.EndObject();
  }
  j.EndArray();
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderProblemsCsv(const ProblemLog& log, StackViews* views,
                                              int limit) {
  std::vector<Column> columns = {{"kind", Column::kText},
                                 {"pid", Column::kId},
                                 {"addr", Column::kId},
                                 {"detail", Column::kText}};
  for (const char* ref : {"call", "allocation", "first_release"}) {
    for (const Column& field : {Column{"seq", Column::kId}, Column{"ts_ns", Column::kNanos},
                                Column{"tid", Column::kId}, Column{"op", Column::kText},
                                Column{"size", Column::kBytes}, Column{"stack_id", Column::kId},
                                Column{"site", Column::kText}}) {
      columns.push_back({absl::StrCat(ref, "_", field.name), field.kind});
    }
  }
  ReportTable t(std::move(columns));
  int shown = 0;
  for (const Problem& p : log.problems()) {
    if (limit > 0 && shown++ >= limit) break;
    std::vector<Cell> row = {Cell::Text(std::string(ProblemKindName(p.kind))), Cell::Int(p.pid),
                             Cell::Int(static_cast<int64_t>(p.addr)), Cell::Text(p.detail)};
    for (const EventRef* r : {&p.offending, &p.allocation, &p.first_release}) {
      if (r->seq == 0) {
        row.resize(row.size() + 7);  // nulls: no such event
        continue;
      }
      std::string site;
      if (r->stack != 0) {
        ATR_ASSIGN_OR_RETURN(const StackView* v, views->Get(r->stack));
        site = v->site_label;
      }
      for (Cell c : {Cell::Int(r->seq), Cell::Int(r->ts_ns), Cell::Int(r->tid),
                     Cell::Text(std::string(OpName(r->op))),
                     Cell::Int(static_cast<int64_t>(r->size)), Cell::Int(r->stack),
                     Cell::Text(site)}) {
        row.push_back(std::move(c));
      }
    }
    t.AddRow(std::move(row));
  }
  return t.RenderCsv();
}

std::string RenderReplayText(const ReplayRun& run, int64_t replay_id) {
  const ReplaySummary& s = run.summary;
  std::string out;
  absl::StrAppend(&out, "replay", replay_id > 0 ? absl::StrCat(" #", replay_id) : "", ": ",
                  s.allocator, " (", s.threads, " threads), pid ", s.pid, ", ",
                  FormatCount(s.events), " events, ", FormatCount(s.heap_ops), " heap ops, ",
                  s.outcome, "\n");
  TextTable t({"metric", "value", "at seq"}, {Align::kLeft, Align::kRight, Align::kRight});
  t.AddRow({"peak live", FormatBytes(s.peak_live_bytes), absl::StrCat(s.peak_live_seq)});
  t.AddRow({"peak resident", FormatBytes(s.peak_resident_bytes), absl::StrCat(s.peak_resident_seq)});
  t.AddRow({"live at resident peak", FormatBytes(s.live_at_peak_resident), ""});
  t.AddRow({"fragmentation at peak (1 - live/resident)", Pct(s.fragmentation_at_peak), ""});
  t.AddRow({"J&W #3 (resident at live peak / peak live - 1)", Pct(s.jw3), ""});
  t.AddRow({"J&W #4 (peak resident / peak live - 1)", Pct(s.jw4), ""});
  t.AddRow({"time-averaged waste (resident - live)",
            FormatBytes(static_cast<int64_t>(s.avg_waste_bytes)), ""});
  t.AddRow({"final live / resident",
            absl::StrCat(FormatBytes(s.final_live_bytes), " / ", FormatBytes(s.final_resident_bytes)),
            absl::StrCat(s.last_seq)});
  t.AddRow({"replay time", FormatDuration(s.duration_ns), ""});
  if (s.allocator_ns != s.duration_ns) t.AddRow({"  in the allocator calls", FormatDuration(s.allocator_ns), ""});
  out += t.Render();
  if (!run.samples.empty()) {
    const ReplaySample& f = run.samples.back();
    if (f.allocated_bytes >= 0 || f.mapped_bytes >= 0) {
      absl::StrAppend(&out, "at the end: ");
      auto field = [&](const char* name, int64_t v) {
        if (v >= 0) absl::StrAppend(&out, name, " ", FormatBytes(v), "  ");
      };
      field("allocated", f.allocated_bytes);
      field("internal waste", f.internal_waste_bytes);
      field("free slots", f.free_slot_bytes);
      field("cached", f.cached_bytes);
      field("retained", f.retained_bytes);
      field("released", f.released_bytes);
      field("mapped", f.mapped_bytes);
      out += '\n';
    }
  }
  if (run.snapshot_seq != 0) {
    int64_t free_bytes = 0;
    for (const SpanSnapshot& sp : run.spans) free_bytes += static_cast<int64_t>(sp.free_bytes);
    absl::StrAppend(&out, "at the resident peak (seq ", run.snapshot_seq, "): ",
                    FormatCount(static_cast<int64_t>(run.spans.size())),
                    " partly used spans hold ", FormatBytes(free_bytes),
                    " of free slots (replay_spans, replay_blame)\n");
  }
  absl::StrAppend(&out, "digest ", s.digest, "\n");
  return out;
}

namespace {

// The replay's summary as one row; its column names are the JSON keys.
ReportTable ReplaySummaryTable(const ReplayRun& run, int64_t replay_id) {
  const ReplaySummary& s = run.summary;
  ReportTable t({{"replay_id", Column::kId},
                 {"allocator", Column::kText},
                 {"config", Column::kText},
                 {"threads", Column::kText},
                 {"pid", Column::kId},
                 {"events", Column::kCount},
                 {"heap_ops", Column::kCount},
                 {"last_seq", Column::kId},
                 {"outcome", Column::kText},
                 {"peak_live_bytes", Column::kBytes},
                 {"peak_live_seq", Column::kId},
                 {"resident_at_peak_live", Column::kBytes},
                 {"peak_resident_bytes", Column::kBytes},
                 {"peak_resident_seq", Column::kId},
                 {"live_at_peak_resident", Column::kBytes},
                 {"fragmentation_at_peak", Column::kPercent},
                 {"jw3", Column::kPercent},
                 {"jw4", Column::kPercent},
                 {"avg_waste_bytes", Column::kReal},
                 {"final_live_bytes", Column::kBytes},
                 {"final_resident_bytes", Column::kBytes},
                 {"duration_ns", Column::kNanos},
                 {"allocator_ns", Column::kNanos},
                 {"samples", Column::kCount},
                 {"snapshot_seq", Column::kId},
                 {"partly_used_spans", Column::kCount},
                 {"digest", Column::kText}});
  t.AddRow({Cell::Int(replay_id), Cell::Text(s.allocator), Cell::Text(s.config),
            Cell::Text(s.threads), Cell::Int(s.pid), Cell::Int(s.events), Cell::Int(s.heap_ops),
            Cell::Int(s.last_seq), Cell::Text(s.outcome), Cell::Int(s.peak_live_bytes),
            Cell::Int(s.peak_live_seq), Cell::Int(s.resident_at_peak_live),
            Cell::Int(s.peak_resident_bytes), Cell::Int(s.peak_resident_seq),
            Cell::Int(s.live_at_peak_resident), Cell::Real(s.fragmentation_at_peak),
            Cell::Real(s.jw3), Cell::Real(s.jw4), Cell::Real(s.avg_waste_bytes),
            Cell::Int(s.final_live_bytes), Cell::Int(s.final_resident_bytes),
            Cell::Int(s.duration_ns), Cell::Int(s.allocator_ns),
            Cell::Int(static_cast<int64_t>(run.samples.size())), Cell::Int(run.snapshot_seq),
            Cell::Int(static_cast<int64_t>(run.spans.size())), Cell::Text(s.digest)});
  return t;
}

// One row per allocator; measurements are null for one that did not run.
ReportTable CompareTable(const std::vector<CompareRow>& rows) {
  ReportTable t({{"allocator", Column::kText},
                 {"ran", Column::kBool},
                 {"note", Column::kText},
                 {"replay_id", Column::kId},
                 {"config", Column::kText},
                 {"peak_live_bytes", Column::kBytes},
                 {"peak_resident_bytes", Column::kBytes},
                 {"fragmentation_at_peak", Column::kPercent},
                 {"jw3", Column::kPercent},
                 {"jw4", Column::kPercent},
                 {"avg_waste_bytes", Column::kReal},
                 {"replay_ns", Column::kNanos},
                 {"duration_ns", Column::kNanos},
                 {"digest", Column::kText}});
  for (const CompareRow& r : rows) {
    if (!r.ran) {
      t.AddRow({Cell::Text(r.allocator), Cell::Bool(false), Cell::Text(r.note)});
      continue;
    }
    const ReplaySummary& s = r.summary;
    t.AddRow({Cell::Text(r.allocator), Cell::Bool(true), Cell::Text(r.note),
              Cell::Int(r.replay_id), Cell::Text(s.config), Cell::Int(s.peak_live_bytes),
              Cell::Int(s.peak_resident_bytes), Cell::Real(s.fragmentation_at_peak),
              Cell::Real(s.jw3), Cell::Real(s.jw4), Cell::Real(s.avg_waste_bytes),
              Cell::Int(s.allocator_ns), Cell::Int(s.duration_ns), Cell::Text(s.digest)});
  }
  return t;
}

}  // namespace

void WriteReplayJson(JsonWriter& j, const ReplayRun& run, int64_t replay_id) {
  ReplaySummaryTable(run, replay_id).WriteRowMembers(j, 0);
}

std::string RenderReplayCsv(const ReplayRun& run, int64_t replay_id) {
  return ReplaySummaryTable(run, replay_id).RenderCsv();
}

std::string RenderCompareText(const std::vector<CompareRow>& rows) {
  TextTable t({"allocator", "peak live", "peak resident", "frag@peak", "J&W #3", "J&W #4",
               "avg waste", "replay time", "note"},
              {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
               Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
  for (const CompareRow& r : rows) {
    if (!r.ran) {
      t.AddRow({r.allocator, "-", "-", "-", "-", "-", "-", "-", r.note});
      continue;
    }
    const ReplaySummary& s = r.summary;
    t.AddRow({r.allocator, FormatBytes(s.peak_live_bytes), FormatBytes(s.peak_resident_bytes),
              Pct(s.fragmentation_at_peak), Pct(s.jw3), Pct(s.jw4),
              FormatBytes(static_cast<int64_t>(s.avg_waste_bytes)),
              FormatDuration(s.allocator_ns), r.note});
  }
  return t.Render() +
         "frag@peak = 1 - live/resident at the resident peak; J&W #3 = resident at the live peak /"
         " peak live - 1; #4 = peak resident / peak live - 1;\nresident: modelled RSS (builtin) or"
         " the replay driver's anonymous RSS growth (real allocators, sampled); replay time: "
         "model run, or the real calls in the driver.\n";
}

std::string RenderCompareJson(const std::vector<CompareRow>& rows) {
  JsonWriter j;
  j.BeginObject();
  j.Key("allocators");
  CompareTable(rows).WriteJson(j);
  j.EndObject();
  return j.str() + "\n";
}

std::string RenderCompareCsv(const std::vector<CompareRow>& rows) {
  return CompareTable(rows).RenderCsv();
}

}  // namespace atr::replay
