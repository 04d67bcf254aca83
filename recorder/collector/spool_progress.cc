#include "recorder/collector/spool_progress.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "db/ops.h"
#include "db/query.h"
#include "db/table_groups.h"
#include "db/trace_reader.h"

namespace atr {
namespace {

// Runs `sql` and calls row(cursor) for every row.
template <typename F>
absl::Status ForEachRow(const TraceReader& reader, const std::string& sql, F row) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(reader, sql);
  if (!q.ok()) return q.status();
  while (q->Next()) row(*q);
  return q->status();
}

std::optional<int64_t> OptInt(const QueryCursor& q, int col) {
  if (q.IsNull(col)) return std::nullopt;
  return q.Int(col);
}

std::optional<int32_t> OptInt32(const QueryCursor& q, int col) {
  if (q.IsNull(col)) return std::nullopt;
  return static_cast<int32_t>(q.Int(col));
}

}  // namespace

absl::Status StartSpoolProgress(TraceWriter& writer, int64_t start_mono_ns) {
  if (auto s = writer.EnsureTables(TableGroup::kSpoolProgress); !s.ok()) return s;
  if (auto s = writer.SetMetaInt("start_mono_ns", start_mono_ns); !s.ok()) return s;
  return writer.Flush();
}

absl::Status WriteSpoolFileProgress(TraceWriter& writer, const SpoolFileProgress& p) {
  return PutSpoolFile(writer, p);
}

absl::Status WriteSpoolStack(TraceWriter& writer, int64_t file_id, uint64_t hash, StackId stack) {
  return AddSpoolStack(writer, file_id, hash, stack);
}

absl::StatusOr<std::optional<ResumeState>> ReadResumeState(const std::string& trace_path) {
  absl::StatusOr<TraceReader> opened = TraceReader::Open(trace_path);
  if (!opened.ok()) return opened.status();
  const TraceReader& r = *opened;
  if (!r.HasTable("spool_progress") || r.MetaInt("complete").value_or(0) != 0) {
    return std::nullopt;
  }

  ResumeState st;
  st.start_mono_ns = r.MetaInt("start_mono_ns").value_or(0);
  st.lost_events = r.MetaInt("lost_events").value_or(0);
  st.corrupt_chunks = r.MetaInt("corrupt_chunks").value_or(0);
  st.unknown_stacks = r.MetaInt("unknown_stacks").value_or(0);
  absl::StatusOr<std::vector<SpoolFileRow>> files = ReadSpoolFiles(r);
  if (!files.ok()) return files.status();
  st.files = *std::move(files);
  absl::flat_hash_map<int64_t, size_t> file_index;
  for (size_t i = 0; i < st.files.size(); ++i) file_index[st.files[i].id] = i;
  absl::StatusOr<std::vector<SpoolStackRow>> stacks = ReadSpoolStacks(r);
  if (!stacks.ok()) return stacks.status();
  st.stacks.resize(st.files.size());
  for (const SpoolStackRow& row : *stacks) {
    auto it = file_index.find(row.file_id);
    if (it != file_index.end()) st.stacks[it->second].emplace_back(row.hash, row.stack);
  }
  absl::Status s;
  s.Update(ForEachRow(r, "SELECT id, coalesce(module_id, 0), rel_pc FROM frames ORDER BY id",
                      [&](const QueryCursor& q) {
                        st.frames.push_back({.id = q.Int(0), .module_id = q.Int(1),
                                             .rel_pc = static_cast<uint64_t>(q.Int(2))});
                      }));
  s.Update(ForEachRow(r, "SELECT id, coalesce(parent, 0), frame FROM stacks ORDER BY id",
                      [&](const QueryCursor& q) {
                        st.stack_nodes.push_back(
                            {.id = q.Int(0), .parent = q.Int(1), .frame = q.Int(2)});
                      }));
  s.Update(ForEachRow(
      r, "SELECT id, pid, path, bias, lo, hi, loaded_seq, unloaded_seq FROM modules ORDER BY id",
      [&](const QueryCursor& q) {
        st.modules.push_back({.id = q.Int(0),
                              .pid = static_cast<int32_t>(q.Int(1)),
                              .path = q.Text(2),
                              .build_id = std::nullopt,
                              .bias = static_cast<uint64_t>(q.Int(3)),
                              .lo = static_cast<uint64_t>(q.Int(4)),
                              .hi = static_cast<uint64_t>(q.Int(5)),
                              .loaded_seq = OptInt(q, 6),
                              .unloaded_seq = OptInt(q, 7)});
      }));
  s.Update(ForEachRow(r,
                      "SELECT pid, image, started_seq, ended_seq, started_ns, ended_ns, "
                      "exit_status, exit_signal FROM processes",
                      [&](const QueryCursor& q) {
                        ProcessRow p;
                        p.pid = static_cast<int32_t>(q.Int(0));
                        p.image = static_cast<int32_t>(q.Int(1));
                        p.started_seq = OptInt(q, 2);
                        p.ended_seq = OptInt(q, 3);
                        p.started_ns = OptInt(q, 4);
                        p.ended_ns = OptInt(q, 5);
                        p.exit_status = OptInt32(q, 6);
                        p.exit_signal = OptInt32(q, 7);
                        st.processes.push_back(std::move(p));
                      }));
  s.Update(ForEachRow(r,
                      "SELECT pid, tid, name, creator_tid, started_seq, ended_seq, stack_lo, "
                      "stack_hi FROM threads",
                      [&](const QueryCursor& q) {
                        ThreadRow t;
                        t.pid = static_cast<int32_t>(q.Int(0));
                        t.tid = static_cast<int32_t>(q.Int(1));
                        if (!q.IsNull(2)) t.name = q.Text(2);
                        t.creator_tid = OptInt32(q, 3);
                        t.started_seq = OptInt(q, 4);
                        t.ended_seq = OptInt(q, 5);
                        if (!q.IsNull(6)) t.stack_lo = static_cast<uint64_t>(q.Int(6));
                        if (!q.IsNull(7)) t.stack_hi = static_cast<uint64_t>(q.Int(7));
                        st.threads.push_back(std::move(t));
                      }));
  // The counters the collector reports are recomputed from the committed
  // events (one pass; only `atr import` of a dead collector's trace pays it).
  s.Update(ForEachRow(r, "SELECT op, count(*) FROM event_log GROUP BY op",
                      [&](const QueryCursor& q) {
                        Op op = static_cast<Op>(q.Int(0));
                        st.events += q.Int(1);
                        if (IsKnownOp(static_cast<uint8_t>(q.Int(0))) && IsAcquisition(op) &&
                            IsHeapOp(op)) {
                          st.acquisitions += q.Int(1);
                        }
                      }));
  s.Update(ForEachRow(r,
                      absl::StrCat("SELECT DISTINCT stack FROM event_log WHERE stack IS NOT NULL "
                                   "AND op NOT IN (",
                                   static_cast<int>(Op::kFuncEnter), ",",
                                   static_cast<int>(Op::kFuncExit), ")"),
                      [&](const QueryCursor& q) { st.event_stacks.push_back(q.Int(0)); }));
  if (!s.ok()) return s;
  return std::optional<ResumeState>(std::move(st));
}

}  // namespace atr
