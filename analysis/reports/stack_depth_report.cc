#include "analysis/reports/stack_depth_report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/short_file.h"
#include "base/status_macros.h"
#include "base/text_table.h"
#include "db/query.h"

namespace atr {
namespace {

StackPathFrame ToPathFrame(const Frame& f) {
  StackPathFrame p;
  p.function = f.row.function ? *f.row.function : absl::StrCat("0x", absl::Hex(f.row.rel_pc));
  if (f.row.file) {
    p.location = ShortFile(*f.row.file);
    if (f.row.line) absl::StrAppend(&p.location, ":", *f.row.line);
  }
  p.frame_size = f.row.frame_size;
  p.dynamic_frame = f.row.dynamic_frame.value_or(false);
  return p;
}

absl::StatusOr<std::vector<StackPathFrame>> Path(TraceReader& reader, StackId id) {
  std::vector<StackPathFrame> out;
  if (id == 0) return out;
  ATR_ASSIGN_OR_RETURN(std::vector<const Frame*> frames, reader.StackFrames(id));
  for (const Frame* f : frames) out.push_back(ToPathFrame(*f));
  return out;
}

// Most frames of one function in a path, and which.
std::pair<uint32_t, std::string> Recursion(const std::vector<StackPathFrame>& path) {
  absl::flat_hash_map<std::string, uint32_t> n;
  std::pair<uint32_t, std::string> best{0, ""};
  for (const StackPathFrame& f : path) {
    uint32_t c = ++n[f.function];
    if (c > best.first) best = {c, f.function};
  }
  return best;
}

absl::Status FrameTables(TraceReader& reader, const StackDepthReportOptions& o, StackDepthReport& r) {
  std::string limit = o.limit > 0 ? absl::StrCat(" LIMIT ", o.limit) : "";
  // One row per function (module, name): frames of one function share its
  // frame size; the largest is kept should symbols collide.
  std::string base =
      "SELECT coalesce(f.function, printf('0x%x', f.rel_pc)), coalesce(m.path, ''), "
      "max(f.frame_size), max(coalesce(f.dynamic_frame, 0)) FROM frames f "
      "LEFT JOIN modules m ON m.id = f.module_id WHERE f.frame_size IS NOT NULL "
      "GROUP BY f.module_id, f.function ";
  for (int pass = 0; pass < 2; ++pass) {
    std::string sql = pass == 0 ? base + "ORDER BY 3 DESC, 1" + limit
                                : base + "HAVING max(coalesce(f.dynamic_frame, 0)) = 1 ORDER BY 1";
    ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, sql));
    while (q.Next()) {
      FrameSizeRow row{.function = q.Text(0),
                       .module = q.Text(1),
                       .frame_size = static_cast<int32_t>(q.Int(2)),
                       .dynamic_frame = q.Int(3) != 0};
      (pass == 0 ? r.largest_frames : r.dynamic_frames).push_back(std::move(row));
    }
    ATR_RETURN_IF_ERROR(q.status());
  }
  return absl::OkStatus();
}

std::string FrameSizeText(const std::optional<int32_t>& s, bool dynamic) {
  std::string t = s ? FormatBytes(*s) : "?";
  if (dynamic) t += " +dyn";
  return t;
}

void RenderPath(std::string& out, const std::vector<StackPathFrame>& path) {
  TextTable t({"    function", "location", "frame"}, {Align::kLeft, Align::kLeft, Align::kRight});
  // Recursion makes long runs of one frame: one row per run, "(xN)".
  for (size_t i = 0; i < path.size();) {
    const StackPathFrame& f = path[i];
    size_t j = i + 1;
    while (j < path.size() && path[j].function == f.function && path[j].location == f.location) ++j;
    std::string name = "    " + f.function;
    if (j - i > 1) absl::StrAppend(&name, " (x", j - i, ")");
    t.AddRow({name, f.location, FrameSizeText(f.frame_size, f.dynamic_frame)});
    i = j;
  }
  out += t.Render();
}

std::string Sparkline(const std::vector<uint32_t>& buckets, uint32_t max) {
  static const char kLevels[] = " .:-=+*#%@";
  std::string s;
  for (uint32_t b : buckets) {
    if (b == 0 || max == 0) {
      s += ' ';
      continue;
    }
    size_t i = 1 + static_cast<size_t>(static_cast<uint64_t>(b) * 8 / max);
    s += kLevels[std::min<size_t>(i, 9)];
  }
  return s;
}

std::string ThreadLabel(const ThreadRow& t) {
  std::string s = absl::StrCat(t.pid, "/", t.tid);
  if (t.name) absl::StrAppend(&s, " \"", *t.name, "\"");
  return s;
}

// "frame_size" (null when unknown) and "dynamic_frame" of one frame.
void WriteFrameSizeJson(JsonWriter& j, std::optional<int32_t> frame_size, bool dynamic) {
  j.Key("frame_size");
  if (frame_size) {
    j.Int(*frame_size);
  } else {
    j.Null();
  }
  j.Key("dynamic_frame").Bool(dynamic);
}

void WritePathJson(JsonWriter& j, const std::vector<StackPathFrame>& path) {
  j.BeginArray();
  for (const StackPathFrame& f : path) {
    j.BeginObject().Key("function").String(f.function).Key("location").String(f.location);
    WriteFrameSizeJson(j, f.frame_size, f.dynamic_frame);
    j.EndObject();
  }
  j.EndArray();
}

void WritePointJson(JsonWriter& j, const StackPoint& p) {
  j.BeginObject().Key("seq").Int(p.seq).Key("ts_ns").Int(p.ts_ns).Key("depth").Int(p.depth);
  j.Key("stack").Int(p.stack).EndObject();
}

std::string DepthSourceLine(const StackDepthReport& r) {
  if (r.stack_ops) {
    return absl::StrCat("Stack depth: exact (function enter/exit stream, ",
                        FormatCount(r.func_events), " events)\n");
  }
  return "Stack depth: sampled at recorded events only (no function enter/exit stream: record a "
         "program built with -finstrument-functions using `atr record --stack-ops`)\n";
}

void RenderThreadHeader(std::string& out, const StackDepthReport& r, const ThreadStackDepthReport& t) {
  const ThreadStackState& s = t.state;
  absl::StrAppend(&out, "Thread ", ThreadLabel(t.thread), ": max depth ",
                  FormatBytes(s.max.depth), " at seq ", s.max.seq, " (+",
                  FormatDuration(s.max.ts_ns - r.timeline_start_ns), ")");
  if (t.stack_bytes) {
    absl::StrAppend(&out, ", stack ", FormatBytes(static_cast<int64_t>(*t.stack_bytes)),
                    ", headroom ",
                    FormatBytes(static_cast<int64_t>(*t.stack_bytes) - s.max.depth));
  }
  if (s.max_frames != 0) absl::StrAppend(&out, ", ", s.max_frames, " instrumented frames");
  out += "\n";
}

void RenderTimeline(std::string& out, const ThreadStackState& s) {
  if (s.timeline.empty() || s.max.depth == 0) return;
  absl::StrAppend(&out, "  depth over time (max ", FormatBytes(s.max.depth), "): |",
                  Sparkline(s.timeline, s.max.depth), "|\n");
}

void RenderOverflow(std::string& out, const StackDepthReport& r, const ThreadStackDepthReport& t) {
  if (r.stack_size == 0) return;
  const ThreadStackState& s = t.state;
  std::string size = FormatBytes(static_cast<int64_t>(r.stack_size));
  if (!s.overflow) {
    absl::StrAppend(&out, "  a ", size, " stack would not overflow\n");
    return;
  }
  absl::StrAppend(&out, "  a ", size, " stack overflows first at seq ", s.overflow->seq,
                  " (depth ", FormatBytes(s.overflow->depth), ", +",
                  FormatDuration(s.overflow->ts_ns - r.timeline_start_ns), "), path:\n");
  RenderPath(out, t.overflow_path);
}

// "f x3 < g < main": a path on one line, innermost first, runs folded.
std::string PathLine(const std::vector<StackPathFrame>& path) {
  std::string s;
  for (size_t i = 0; i < path.size();) {
    size_t j = i + 1;
    while (j < path.size() && path[j].function == path[i].function) ++j;
    absl::StrAppend(&s, i > 0 ? " < " : "", path[i].function);
    if (j - i > 1) absl::StrAppend(&s, " x", j - i);
    i = j;
  }
  return s;
}

void WriteThreadJson(JsonWriter& j, const ThreadStackDepthReport& t) {
  const ThreadStackState& s = t.state;
  j.BeginObject().Key("pid").Int(t.thread.pid).Key("tid").Int(t.thread.tid);
  j.Key("name").String(t.thread.name.value_or(""));
  j.Key("stack_bytes");
  if (t.stack_bytes) {
    j.Uint(*t.stack_bytes);
    j.Key("headroom").Int(static_cast<int64_t>(*t.stack_bytes) - s.max.depth);
  } else {
    j.Null();
    j.Key("headroom").Null();
  }
  j.Key("max_depth");
  WritePointJson(j, s.max);
  j.Key("max_frames").Int(s.max_frames);
  j.Key("events_with_depth").Int(s.events);
  j.Key("func_events").Int(s.func_events);
  j.Key("deepest_path");
  WritePathJson(j, t.deepest_path);
  j.Key("deepest_recursion").BeginObject().Key("function").String(t.deepest_recursion_function);
  j.Key("frames").Int(t.deepest_recursion).EndObject();
  j.Key("overflow");
  if (s.overflow) {
    j.BeginObject().Key("at");
    WritePointJson(j, *s.overflow);
    j.Key("path");
    WritePathJson(j, t.overflow_path);
    j.EndObject();
  } else {
    j.Null();
  }
  j.Key("timeline").BeginArray();
  for (uint32_t b : s.timeline) j.Int(b);
  j.EndArray();
  j.EndObject();
}

}  // namespace

absl::StatusOr<uint64_t> ParseStackSize(const std::string& text) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && v < (1ull << 40)) {
    v = v * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = -1;
  if (unit.empty() || unit == "B") shift = 0;
  if (unit == "K" || unit == "KB" || unit == "KIB") shift = 10;
  if (unit == "M" || unit == "MB" || unit == "MIB") shift = 20;
  if (unit == "G" || unit == "GB" || unit == "GIB") shift = 30;
  if (i == 0 || v == 0 || shift < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--stack-size ", text, ": expected bytes like 65536, 64K or 8M"));
  }
  return v << shift;
}

absl::StatusOr<StackDepthModelOptions> StackDepthModelOptionsFor(TraceReader& reader, uint64_t stack_size,
                                                       int timeline_buckets) {
  ATR_ASSIGN_OR_RETURN(int64_t first,
                       QueryScalar(reader, "SELECT ts_ns FROM event_log ORDER BY seq LIMIT 1"));
  ATR_ASSIGN_OR_RETURN(
      int64_t last, QueryScalar(reader, "SELECT ts_ns FROM event_log ORDER BY seq DESC LIMIT 1"));
  return StackDepthModelOptions{.stack_size = stack_size,
                           .timeline_start_ns = first,
                           .timeline_end_ns = std::max(last + 1, first + 1),
                           .timeline_buckets = timeline_buckets};
}

absl::StatusOr<StackDepthReport> StackDepthReportFromModel(TraceReader& reader, const StackDepthModel& model) {
  StackDepthReport r;
  r.trace = reader.path();
  r.stack_size = model.options().stack_size;
  r.timeline_start_ns = model.options().timeline_start_ns;
  r.timeline_end_ns = model.options().timeline_end_ns;
  r.stack_ops = model.saw_func_events();
  r.unmatched_exits = model.unmatched_exits();

  ATR_ASSIGN_OR_RETURN(std::vector<ThreadRow> threads, reader.Threads());
  absl::flat_hash_map<std::pair<int32_t, int32_t>, const ThreadRow*> by_key;
  for (const ThreadRow& t : threads) by_key[{t.pid, t.tid}] = &t;
  for (const ThreadStackState& s : model.threads()) {
    r.func_events += s.func_events;
    ThreadStackDepthReport tr;
    tr.state = s;
    if (auto it = by_key.find({s.pid, s.tid}); it != by_key.end()) tr.thread = *it->second;
    tr.thread.pid = s.pid;
    tr.thread.tid = s.tid;
    if (tr.thread.stack_hi && tr.thread.stack_lo && *tr.thread.stack_hi > *tr.thread.stack_lo) {
      tr.stack_bytes = *tr.thread.stack_hi - *tr.thread.stack_lo;
    }
    ATR_ASSIGN_OR_RETURN(tr.deepest_path, Path(reader, s.max.stack));
    if (s.overflow) {
      ATR_ASSIGN_OR_RETURN(tr.overflow_path, Path(reader, s.overflow->stack));
    }
    std::tie(tr.deepest_recursion, tr.deepest_recursion_function) = Recursion(tr.deepest_path);
    r.threads.push_back(std::move(tr));
  }
  std::sort(r.threads.begin(), r.threads.end(), [](const auto& a, const auto& b) {
    return std::tie(a.thread.pid, a.thread.tid) < std::tie(b.thread.pid, b.thread.tid);
  });

  for (const FunctionStackStats& f : model.functions()) {
    FunctionStackRow row;
    row.stats = f;
    row.function = absl::StrCat("0x", absl::Hex(f.fn));
    if (f.any_stack != 0) {
      ATR_ASSIGN_OR_RETURN(std::vector<const Frame*> frames, reader.StackFrames(f.any_stack));
      if (!frames.empty()) {
        StackPathFrame p = ToPathFrame(*frames.front());
        row.function = p.function;
        row.frame_size = p.frame_size;
        row.dynamic_frame = p.dynamic_frame;
      }
    }
    r.functions.push_back(std::move(row));
  }
  std::sort(r.functions.begin(), r.functions.end(), [](const auto& a, const auto& b) {
    if (a.stats.inclusive_ns != b.stats.inclusive_ns) {
      return a.stats.inclusive_ns > b.stats.inclusive_ns;
    }
    return a.function < b.function;
  });
  return r;
}

absl::StatusOr<StackDepthReport> ComputeStackDepthReport(TraceReader& reader,
                                               const StackDepthReportOptions& options) {
  ATR_ASSIGN_OR_RETURN(StackDepthModelOptions mo,
                       StackDepthModelOptionsFor(reader, options.stack_size, options.timeline_buckets));
  StackDepthModel model(mo);
  ATR_ASSIGN_OR_RETURN(EventCursor events, reader.Events());
  EventRow e;
  while (events.Next(&e)) model.OnEvent(e);
  ATR_RETURN_IF_ERROR(events.status());
  model.Finish(mo.timeline_end_ns);
  ATR_ASSIGN_OR_RETURN(StackDepthReport r, StackDepthReportFromModel(reader, model));
  ATR_RETURN_IF_ERROR(FrameTables(reader, options, r));
  return r;
}

std::string RenderStackDepthReportText(const StackDepthReport& r) {
  std::string out = DepthSourceLine(r);
  for (const ThreadStackDepthReport& t : r.threads) {
    out += "\n";
    RenderThreadHeader(out, r, t);
    if (!t.deepest_path.empty()) {
      out += "  path at the deepest point (innermost first):\n";
      RenderPath(out, t.deepest_path);
    }
    if (t.deepest_recursion > 1) {
      absl::StrAppend(&out, "  deepest recursion on that path: ", t.deepest_recursion_function,
                      " x", t.deepest_recursion, "\n");
    }
    RenderTimeline(out, t.state);
    RenderOverflow(out, r, t);
  }
  if (!r.largest_frames.empty()) {
    out += "\nLargest frames\n";
    TextTable t({"function", "frame", "module"}, {Align::kLeft, Align::kRight, Align::kLeft});
    for (const FrameSizeRow& f : r.largest_frames) {
      t.AddRow({f.function, FrameSizeText(f.frame_size, f.dynamic_frame), f.module});
    }
    out += t.Render();
  }
  out += "\nDynamic frames (alloca, VLAs)\n";
  if (r.dynamic_frames.empty()) out += "  none\n";
  for (const FrameSizeRow& f : r.dynamic_frames) {
    absl::StrAppend(&out, "  ", f.function, " (static part ", FormatBytes(f.frame_size), ")\n");
  }
  if (r.stack_ops) {
    out += "\nFunctions (enter/exit stream; inclusive time counts each recursion level)\n";
    TextTable t({"function", "calls", "inclusive", "exclusive", "max depth inside", "recursion",
                 "frame"},
                {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                 Align::kRight, Align::kRight});
    int n = 0;
    for (const FunctionStackRow& f : r.functions) {
      t.AddRow({f.function, FormatCount(f.stats.calls), FormatDuration(f.stats.inclusive_ns),
                FormatDuration(f.stats.exclusive_ns), FormatBytes(f.stats.max_depth_inside),
                absl::StrCat(f.stats.max_recursion), FrameSizeText(f.frame_size, f.dynamic_frame)});
      if (++n == 50) break;
    }
    out += t.Render();
    if (r.unmatched_exits != 0) {
      absl::StrAppend(&out, "(", r.unmatched_exits, " exits without a recorded enter ignored)\n");
    }
  }
  return out;
}

void WriteStackCheckJson(JsonWriter& j, const StackDepthReport& r) {
  j.Key("depth_source").String(r.stack_ops ? "enter_exit" : "sampled");
  j.Key("func_events").Int(r.func_events);
  j.Key("unmatched_exits").Int(r.unmatched_exits);
  j.Key("stack_size_checked").Uint(r.stack_size);
  j.Key("timeline_start_ns").Int(r.timeline_start_ns);
  j.Key("timeline_end_ns").Int(r.timeline_end_ns);
  j.Key("threads").BeginArray();
  for (const ThreadStackDepthReport& t : r.threads) WriteThreadJson(j, t);
  j.EndArray();
}

std::string RenderStackCheckText(const StackDepthReport& r) {
  std::string out = DepthSourceLine(r);
  for (const ThreadStackDepthReport& t : r.threads) {
    RenderThreadHeader(out, r, t);
    RenderTimeline(out, t.state);
    RenderOverflow(out, r, t);
  }
  return out;
}

ReportTable StackThreadsTable(const StackDepthReport& r) {
  ReportTable t({{"pid", Column::kId}, {"tid", Column::kId}, {"name", Column::kText},
                 {"stack_bytes", Column::kBytes}, {"max_depth", Column::kBytes},
                 {"max_seq", Column::kId}, {"stack_size", Column::kBytes},
                 {"overflow_seq", Column::kId}, {"overflow_at_ns", Column::kNanos},
                 {"overflow_depth", Column::kBytes}, {"overflow_path", Column::kText}});
  for (const ThreadStackDepthReport& x : r.threads) {
    const ThreadStackState& s = x.state;
    std::vector<Cell> row{
        Cell::Int(x.thread.pid), Cell::Int(x.thread.tid), Cell::Text(x.thread.name.value_or("")),
        x.stack_bytes ? Cell::Int(static_cast<int64_t>(*x.stack_bytes)) : Cell::Null(),
        Cell::Int(s.max.depth), Cell::Int(s.max.seq),
        Cell::Int(static_cast<int64_t>(r.stack_size))};
    if (s.overflow) {
      for (Cell c : {Cell::Int(s.overflow->seq), Cell::Int(s.overflow->ts_ns - r.timeline_start_ns),
                     Cell::Int(s.overflow->depth), Cell::Text(PathLine(x.overflow_path))}) {
        row.push_back(std::move(c));
      }
    } else {
      row.resize(row.size() + 4);  // nulls: no overflow
    }
    t.AddRow(std::move(row));
  }
  return t;
}

std::string RenderStackDepthReportJson(const StackDepthReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Key("trace").String(r.trace);
  WriteStackCheckJson(j, r);
  for (int pass = 0; pass < 2; ++pass) {
    j.Key(pass == 0 ? "largest_frames" : "dynamic_frames").BeginArray();
    for (const FrameSizeRow& f : pass == 0 ? r.largest_frames : r.dynamic_frames) {
      j.BeginObject().Key("function").String(f.function).Key("module").String(f.module);
      j.Key("frame_size").Int(f.frame_size).Key("dynamic_frame").Bool(f.dynamic_frame).EndObject();
    }
    j.EndArray();
  }
  j.Key("functions").BeginArray();
  for (const FunctionStackRow& f : r.functions) {
    const FunctionStackStats& s = f.stats;
    j.BeginObject().Key("function").String(f.function).Key("pid").Int(s.pid);
    j.Key("address").Uint(s.fn).Key("calls").Int(s.calls);
    j.Key("inclusive_ns").Int(s.inclusive_ns).Key("exclusive_ns").Int(s.exclusive_ns);
    j.Key("max_depth_inside").Int(s.max_depth_inside).Key("max_recursion").Int(s.max_recursion);
    j.Key("unfinished").Int(s.unfinished);
    WriteFrameSizeJson(j, f.frame_size, f.dynamic_frame);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return j.str() + "\n";
}

}  // namespace atr
