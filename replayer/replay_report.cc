#include "replayer/replay_report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analysis/format/text_table.h"

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
  absl::StatusOr<const StackView*> v = views->Get(stack);
  if (!v.ok()) return v.status();
  absl::StrAppend(out, RenderStackText(**v, indent));
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
    absl::StatusOr<const StackView*> v = views->Get(r.stack);
    if (!v.ok()) return v.status();
    WriteStackJson(j, **v);
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
    if (auto s = AppendStack(&out, views, p.offending.stack, "    "); !s.ok()) return s;
    if (p.allocation.seq != 0) {
      absl::StrAppend(&out, "  allocated (", Where(p.allocation), " ",
                      FormatBytes(static_cast<int64_t>(p.allocation.size)), "):\n");
      if (auto s = AppendStack(&out, views, p.allocation.stack, "    "); !s.ok()) return s;
    } else {
      absl::StrAppend(&out, "  never allocated in this trace\n");
    }
    if (p.first_release.seq != 0) {
      absl::StrAppend(&out, "  first released (", Where(p.first_release), "):\n");
      if (auto s = AppendStack(&out, views, p.first_release.stack, "    "); !s.ok()) return s;
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
                      " blocks, first allocated at seq ", g.first_seq, ":\n");
      if (auto s = AppendStack(&out, views, stack, "    "); !s.ok()) return s;
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
    if (auto s = WriteRefJson(j, "call", p.offending, views); !s.ok()) return s;
    if (auto s = WriteRefJson(j, "allocation", p.allocation, views); !s.ok()) return s;
    if (auto s = WriteRefJson(j, "first_release", p.first_release, views); !s.ok()) return s;
    j.EndObject();
  }
  j.EndArray();
  return absl::OkStatus();
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

void WriteReplayJson(JsonWriter& j, const ReplayRun& run, int64_t replay_id) {
  const ReplaySummary& s = run.summary;
  j.Key("replay_id").Int(replay_id);
  j.Key("allocator").String(s.allocator);
  j.Key("config").String(s.config);
  j.Key("threads").String(s.threads);
  j.Key("pid").Int(s.pid);
  j.Key("events").Int(s.events);
  j.Key("heap_ops").Int(s.heap_ops);
  j.Key("last_seq").Int(s.last_seq);
  j.Key("outcome").String(s.outcome);
  j.Key("peak_live_bytes").Int(s.peak_live_bytes);
  j.Key("peak_live_seq").Int(s.peak_live_seq);
  j.Key("resident_at_peak_live").Int(s.resident_at_peak_live);
  j.Key("peak_resident_bytes").Int(s.peak_resident_bytes);
  j.Key("peak_resident_seq").Int(s.peak_resident_seq);
  j.Key("live_at_peak_resident").Int(s.live_at_peak_resident);
  j.Key("fragmentation_at_peak").Double(s.fragmentation_at_peak);
  j.Key("jw3").Double(s.jw3);
  j.Key("jw4").Double(s.jw4);
  j.Key("avg_waste_bytes").Double(s.avg_waste_bytes);
  j.Key("final_live_bytes").Int(s.final_live_bytes);
  j.Key("final_resident_bytes").Int(s.final_resident_bytes);
  j.Key("duration_ns").Int(s.duration_ns);
  j.Key("allocator_ns").Int(s.allocator_ns);
  j.Key("samples").Int(static_cast<int64_t>(run.samples.size()));
  j.Key("snapshot_seq").Int(run.snapshot_seq);
  j.Key("partly_used_spans").Int(static_cast<int64_t>(run.spans.size()));
  j.Key("digest").String(s.digest);
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
  j.Key("allocators").BeginArray();
  for (const CompareRow& r : rows) {
    j.BeginObject();
    j.Key("allocator").String(r.allocator);
    j.Key("ran").Bool(r.ran);
    j.Key("note").String(r.note);
    if (r.ran) {
      const ReplaySummary& s = r.summary;
      j.Key("replay_id").Int(r.replay_id);
      j.Key("config").String(s.config);
      j.Key("peak_live_bytes").Int(s.peak_live_bytes);
      j.Key("peak_resident_bytes").Int(s.peak_resident_bytes);
      j.Key("fragmentation_at_peak").Double(s.fragmentation_at_peak);
      j.Key("jw3").Double(s.jw3);
      j.Key("jw4").Double(s.jw4);
      j.Key("avg_waste_bytes").Double(s.avg_waste_bytes);
      j.Key("replay_ns").Int(s.allocator_ns);
      j.Key("duration_ns").Int(s.duration_ns);
      j.Key("digest").String(s.digest);
    }
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return j.str() + "\n";
}

}  // namespace atr::replay
