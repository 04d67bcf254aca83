#include "analysis/reports/info_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/report_table.h"
#include "base/status_macros.h"
#include "base/text_table.h"
#include "db/query.h"

namespace atr {
namespace {

// Runs a query whose single row holds integers; missing values read as 0.
absl::Status QueryInts(TraceReader& reader, std::string_view sql,
                       std::initializer_list<int64_t*> out) {
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, sql));
  if (q.Next()) {
    int col = 0;
    for (int64_t* o : out) *o = q.Int(col++);
  }
  return q.status();
}

}  // namespace

absl::StatusOr<TraceInfo> ComputeInfo(TraceReader& reader) {
  TraceInfo info;
  info.path = reader.path();
  info.complete = reader.complete();
  info.recording_complete = reader.MetaInt("recording_complete").value_or(0) == 1;
  info.argv = reader.MetaList("argv").value_or(std::vector<std::string>{});
  info.start_time_utc = reader.Meta("start_time_utc").value_or("");
  info.duration_ns = reader.MetaInt("duration_ns").value_or(0);
  info.lost_events = reader.MetaInt("lost_events").value_or(0);
  info.distinct_stacks = reader.MetaInt("distinct_stacks").value_or(0);
  info.unmatched_releases = reader.MetaInt("alloc_unmatched_releases").value_or(0);
  info.failed_allocations = reader.MetaInt("alloc_failed_acquisitions").value_or(0) +
                            reader.MetaInt("alloc_failed_reallocs").value_or(0);
  info.peak_live_bytes = reader.MetaInt("alloc_peak_live_bytes").value_or(0);
  info.peak_live_seq = reader.MetaInt("alloc_peak_live_seq").value_or(0);

  absl::Status s;
  // The root process is the first one recorded.
  {
    ATR_ASSIGN_OR_RETURN(
        QueryCursor q,
        QueryCursor::Run(
            reader, "SELECT exit_status, exit_signal FROM processes ORDER BY started_seq LIMIT 1"));
    if (q.Next()) {
      if (!q.IsNull(0)) info.exit_status = static_cast<int32_t>(q.Int(0));
      if (!q.IsNull(1)) info.exit_signal = static_cast<int32_t>(q.Int(1));
    }
    ATR_RETURN_IF_ERROR(q.status());
  }
  s.Update(QueryInts(reader, "SELECT count(*) FROM processes", {&info.processes}));
  s.Update(QueryInts(reader, "SELECT count(*) FROM threads", {&info.threads}));
  s.Update(QueryInts(reader, "SELECT ts_ns FROM events WHERE seq = " +
                                 std::to_string(info.peak_live_seq),
                     {&info.peak_live_ns}));
  s.Update(QueryInts(reader,
                     reader.WithStackStats("SELECT coalesce(sum(leaked), 0), "
                                           "coalesce(sum(leaked_bytes), 0) FROM stack_stats"),
                     {&info.leaked_allocations, &info.leaked_bytes}));
  ATR_RETURN_IF_ERROR(s);
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(reader,
                       "SELECT name, calls, bytes FROM op_stats JOIN ops ON ops.code = op_stats.op "
                       "ORDER BY calls DESC, op"));
  while (q.Next()) {
    OpCount c{q.Text(0), q.Int(1), q.Int(2)};
    info.events += c.calls;
    info.ops.push_back(std::move(c));
  }
  ATR_RETURN_IF_ERROR(q.status());
  info.allocation_calls = reader.MetaInt("alloc_allocations").value_or(0);
  info.releases = reader.MetaInt("alloc_releases").value_or(0);
  info.allocated_bytes = reader.MetaInt("alloc_allocated_bytes").value_or(0);
  return info;
}

std::string RenderInfoText(const TraceInfo& i) {
  std::string exit = i.exit_signal   ? absl::StrCat("killed by signal ", *i.exit_signal)
                     : i.exit_status ? absl::StrCat("exit status ", *i.exit_status)
                                     : "exit unknown";
  TextTable t({"", ""}, {Align::kLeft, Align::kLeft});
  t.AddRow({"trace", absl::StrCat(i.path, i.complete ? "" : "  (not finished: run atr import)",
                                  i.recording_complete ? "" : "  (recording incomplete)")});
  t.AddRow({"command", absl::StrJoin(i.argv, " ")});
  t.AddRow({"recorded", absl::StrCat(i.start_time_utc, ", ", FormatDuration(i.duration_ns), ", ",
                                     exit)});
  t.AddRow({"processes", absl::StrCat(FormatCount(i.processes), ", threads ",
                                      FormatCount(i.threads))});
  t.AddRow({"events", FormatCount(i.events)});
  t.AddRow({"allocations", absl::StrCat(FormatCount(i.allocation_calls), " calls, ",
                                        FormatBytes(i.allocated_bytes), "; ",
                                        FormatCount(i.releases), " released")});
  t.AddRow({"peak live", absl::StrCat(FormatBytes(i.peak_live_bytes), " at seq ",
                                      i.peak_live_seq, " (", FormatDuration(i.peak_live_ns),
                                      ")")});
  t.AddRow({"leaked", absl::StrCat(FormatBytes(i.leaked_bytes), " in ",
                                   FormatCount(i.leaked_allocations), " allocations")});
  t.AddRow({"stacks", absl::StrCat(FormatCount(i.distinct_stacks), " distinct")});
  if (i.unmatched_releases) {
    t.AddRow({"bad releases", absl::StrCat(FormatCount(i.unmatched_releases),
                                           " (double or invalid frees: see atr check)")});
  }
  if (i.failed_allocations) t.AddRow({"failed", FormatCount(i.failed_allocations)});
  if (i.lost_events) t.AddRow({"lost events", FormatCount(i.lost_events)});
  std::string out = t.Render();
  out = out.substr(out.find('\n') + 1);  // no header row for a key/value list
  TextTable ops({"op", "calls", "bytes"}, {Align::kLeft, Align::kRight, Align::kRight});
  for (const OpCount& c : i.ops) ops.AddRow({c.op, FormatCount(c.calls), FormatBytes(c.bytes)});
  return absl::StrCat(out, "\n", ops.Render());
}

std::string RenderInfoJson(const TraceInfo& i) {
  JsonWriter j;
  j.BeginObject();
  j.Key("trace").String(i.path);
  j.Key("complete").Bool(i.complete);
  j.Key("recording_complete").Bool(i.recording_complete);
  j.Key("argv").BeginArray();
  for (const std::string& a : i.argv) j.String(a);
  j.EndArray();
  j.Key("start_time_utc").String(i.start_time_utc);
  j.Key("duration_ns").Int(i.duration_ns);
  j.Key("exit_status");
  i.exit_status ? j.Int(*i.exit_status) : j.Null();
  j.Key("exit_signal");
  i.exit_signal ? j.Int(*i.exit_signal) : j.Null();
  j.Key("processes").Int(i.processes);
  j.Key("threads").Int(i.threads);
  j.Key("events").Int(i.events);
  j.Key("ops").BeginObject();
  for (const OpCount& c : i.ops) {
    j.Key(c.op).BeginObject().Key("calls").Int(c.calls).Key("bytes").Int(c.bytes).EndObject();
  }
  j.EndObject();
  j.Key("allocation_calls").Int(i.allocation_calls);
  j.Key("allocated_bytes").Int(i.allocated_bytes);
  j.Key("releases").Int(i.releases);
  j.Key("unmatched_releases").Int(i.unmatched_releases);
  j.Key("failed_allocations").Int(i.failed_allocations);
  j.Key("peak_live_bytes").Int(i.peak_live_bytes);
  j.Key("peak_live_seq").Int(i.peak_live_seq);
  j.Key("peak_live_ns").Int(i.peak_live_ns);
  j.Key("leaked_allocations").Int(i.leaked_allocations);
  j.Key("leaked_bytes").Int(i.leaked_bytes);
  j.Key("distinct_stacks").Int(i.distinct_stacks);
  j.Key("lost_events").Int(i.lost_events);
  j.EndObject();
  return j.str() + "\n";
}

std::string RenderInfoCsv(const TraceInfo& i) {
  JsonWriter argv;
  argv.BeginArray();
  for (const std::string& a : i.argv) argv.String(a);
  argv.EndArray();
  auto opt = [](const std::optional<int32_t>& v) { return v ? Cell::Int(*v) : Cell::Null(); };
  struct Field {
    const char* name;
    Cell cell;
    Column::Kind kind = Column::kText;  // kBool: true/false, like every CSV report
  };
  const Field fields[] = {
      {"trace", Cell::Text(i.path)},
      {"complete", Cell::Bool(i.complete), Column::kBool},
      {"recording_complete", Cell::Bool(i.recording_complete), Column::kBool},
      {"argv", Cell::Text(argv.str())},
      {"start_time_utc", Cell::Text(i.start_time_utc)},
      {"duration_ns", Cell::Int(i.duration_ns)},
      {"exit_status", opt(i.exit_status)},
      {"exit_signal", opt(i.exit_signal)},
      {"processes", Cell::Int(i.processes)},
      {"threads", Cell::Int(i.threads)},
      {"events", Cell::Int(i.events)},
      {"allocation_calls", Cell::Int(i.allocation_calls)},
      {"allocated_bytes", Cell::Int(i.allocated_bytes)},
      {"releases", Cell::Int(i.releases)},
      {"unmatched_releases", Cell::Int(i.unmatched_releases)},
      {"failed_allocations", Cell::Int(i.failed_allocations)},
      {"peak_live_bytes", Cell::Int(i.peak_live_bytes)},
      {"peak_live_seq", Cell::Int(i.peak_live_seq)},
      {"peak_live_ns", Cell::Int(i.peak_live_ns)},
      {"leaked_allocations", Cell::Int(i.leaked_allocations)},
      {"leaked_bytes", Cell::Int(i.leaked_bytes)},
      {"distinct_stacks", Cell::Int(i.distinct_stacks)},
      {"lost_events", Cell::Int(i.lost_events)},
  };
  std::vector<Column> columns;
  std::vector<Cell> row;
  for (const Field& f : fields) {
    columns.push_back({f.name, f.kind});
    row.push_back(f.cell);
  }
  ReportTable t(std::move(columns));
  t.AddRow(std::move(row));
  return t.RenderCsv();
}

}  // namespace atr
