#include "db/spool_progress_table.h"

#include <string_view>

#include "db/query.h"

namespace atr {

absl::Status PutSpoolFile(TraceWriter& writer, const SpoolFileRow& row) {
  return writer.ExecuteSql(
      "INSERT INTO spool_progress(id, file, pid, image, committed_offset, ref_tsc, ref_mono_ns, "
      "tsc_hz, first_module_row, terminated) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
      "ON CONFLICT(id) DO UPDATE SET committed_offset=?5, terminated=?10",
      {row.id, std::string_view(row.file), int64_t{row.pid}, int64_t{row.image},
       static_cast<int64_t>(row.committed_offset), static_cast<int64_t>(row.ref_tsc),
       row.ref_mono_ns, row.tsc_hz, row.first_module_row, int64_t{row.terminated ? 1 : 0}});
}

absl::Status AddSpoolStack(TraceWriter& writer, int64_t file_id, uint64_t hash, StackId stack) {
  return writer.ExecuteSql("INSERT INTO spool_stacks(file_id, hash, stack) VALUES(?1,?2,?3)",
                           {file_id, static_cast<int64_t>(hash), stack});
}

absl::StatusOr<std::vector<SpoolFileRow>> ReadSpoolFiles(const TraceReader& reader) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      reader,
      "SELECT id, file, pid, image, committed_offset, ref_tsc, ref_mono_ns, tsc_hz, "
      "first_module_row, terminated FROM spool_progress ORDER BY id");
  if (!q.ok()) return q.status();
  std::vector<SpoolFileRow> rows;
  while (q->Next()) {
    rows.push_back({.id = q->Int(0),
                    .file = q->Text(1),
                    .pid = static_cast<int32_t>(q->Int(2)),
                    .image = static_cast<int32_t>(q->Int(3)),
                    .committed_offset = static_cast<uint64_t>(q->Int(4)),
                    .ref_tsc = static_cast<uint64_t>(q->Int(5)),
                    .ref_mono_ns = q->Int(6),
                    .tsc_hz = q->Int(7),
                    .first_module_row = q->Int(8),
                    .terminated = q->Int(9) != 0});
  }
  if (!q->status().ok()) return q->status();
  return rows;
}

absl::StatusOr<std::vector<SpoolStackRow>> ReadSpoolStacks(const TraceReader& reader) {
  absl::StatusOr<QueryCursor> q =
      QueryCursor::Run(reader, "SELECT file_id, hash, stack FROM spool_stacks");
  if (!q.ok()) return q.status();
  std::vector<SpoolStackRow> rows;
  while (q->Next()) {
    rows.push_back(
        {.file_id = q->Int(0), .hash = static_cast<uint64_t>(q->Int(1)), .stack = q->Int(2)});
  }
  if (!q->status().ok()) return q->status();
  return rows;
}

}  // namespace atr
