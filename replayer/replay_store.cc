#include "replayer/replay_store.h"

#include "absl/strings/str_cat.h"
#include "db/query.h"
#include "db/sqlite.h"
#include "db/table_groups.h"
#include "db/table_transaction.h"

namespace atr::replay {

using db_internal::SqlDatabase;
using db_internal::SqlStatement;

namespace {

void BindMetric(SqlStatement& st, int i, int64_t v) {
  if (v == kUnknown) st.BindNull(i); else st.BindInt64(i, v);
}

void BindRef(SqlStatement& st, int seq_col, const EventRef& r, bool with_size) {
  // seq, stack, tid
  st.BindIdOrNull(seq_col, r.seq);
  st.BindIdOrNull(seq_col + 1, r.seq != 0 ? r.stack : 0);
  if (r.seq != 0) st.BindInt64(seq_col + 2, r.tid); else st.BindNull(seq_col + 2);
}

absl::StatusOr<int64_t> Write(SqlDatabase& db, const ReplayRun& run,
                              const std::string& counterfactual) {
  const ReplaySummary& s = run.summary;
  ATR_ASSIGN_OR_RETURN(
      SqlStatement ins,
      SqlStatement::Prepare(
          db,
          "INSERT INTO replays(allocator, config, threads, pid, until_seq, started_utc, "
          "duration_ns, allocator_ns, events, heap_ops, last_seq, peak_live_bytes, peak_live_seq, "
          "resident_at_peak_live, peak_resident_bytes, peak_resident_seq, live_at_peak_resident, "
          "fragmentation_at_peak, jw3, jw4, avg_waste_bytes, final_live_bytes, "
          "final_resident_bytes, snapshot_seq, problems, outcome, digest, counterfactual) VALUES "
          "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,"
          "?24,?25,?26,?27,?28)",
          "storing the replay"));
  ins.BindText(1, s.allocator);
  ins.BindText(2, s.config);
  ins.BindText(3, s.threads);
  ins.BindInt64(4, s.pid);
  ins.BindIdOrNull(5, s.until_seq);
  ins.BindText(6, s.started_utc);
  ins.BindInt64(7, s.duration_ns);
  ins.BindInt64(8, s.allocator_ns);
  ins.BindInt64(9, s.events);
  ins.BindInt64(10, s.heap_ops);
  ins.BindInt64(11, s.last_seq);
  ins.BindInt64(12, s.peak_live_bytes);
  ins.BindInt64(13, s.peak_live_seq);
  ins.BindInt64(14, s.resident_at_peak_live);
  ins.BindInt64(15, s.peak_resident_bytes);
  ins.BindInt64(16, s.peak_resident_seq);
  ins.BindInt64(17, s.live_at_peak_resident);
  sqlite3_bind_double(ins.get(), 18, s.fragmentation_at_peak);
  sqlite3_bind_double(ins.get(), 19, s.jw3);
  sqlite3_bind_double(ins.get(), 20, s.jw4);
  sqlite3_bind_double(ins.get(), 21, s.avg_waste_bytes);
  ins.BindInt64(22, s.final_live_bytes);
  ins.BindInt64(23, s.final_resident_bytes);
  ins.BindIdOrNull(24, run.snapshot_seq);
  ins.BindInt64(25, s.problems);
  ins.BindText(26, s.outcome);
  if (s.digest.empty()) ins.BindNull(27); else ins.BindText(27, s.digest);
  if (counterfactual.empty()) ins.BindNull(28); else ins.BindText(28, counterfactual);
  ATR_RETURN_IF_ERROR(ins.Run());
  const int64_t id = sqlite3_last_insert_rowid(db.get());

  ATR_ASSIGN_OR_RETURN(
      SqlStatement smp,
      SqlStatement::Prepare(db,
                            "INSERT INTO replay_samples VALUES "
                            "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                            "storing replay samples"));
  for (const ReplaySample& x : run.samples) {
    smp.BindInt64(1, id);
    smp.BindInt64(2, x.seq);
    smp.BindText(3, SampleKindName(x.kind));
    smp.BindInt64(4, x.live_objects);
    smp.BindInt64(5, x.live_bytes);
    BindMetric(smp, 6, x.allocated_bytes);
    BindMetric(smp, 7, x.internal_waste_bytes);
    BindMetric(smp, 8, x.free_slot_bytes);
    BindMetric(smp, 9, x.cached_bytes);
    BindMetric(smp, 10, x.retained_bytes);
    BindMetric(smp, 11, x.released_bytes);
    BindMetric(smp, 12, x.resident_bytes);
    BindMetric(smp, 13, x.mapped_bytes);
    ATR_RETURN_IF_ERROR(smp.Run());
  }

  ATR_ASSIGN_OR_RETURN(
      SqlStatement spn,
      SqlStatement::Prepare(db, "INSERT INTO replay_spans VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                            "storing replay spans"));
  ATR_ASSIGN_OR_RETURN(
      SqlStatement blm,
      SqlStatement::Prepare(db, "INSERT INTO replay_blame VALUES (?1,?2,?3)",
                            "storing replay blame"));
  for (const SpanSnapshot& sp : run.spans) {
    spn.BindInt64(1, id);
    spn.BindInt64(2, static_cast<int64_t>(sp.address));
    spn.BindInt64(3, sp.size_class);
    spn.BindInt64(4, static_cast<int64_t>(sp.object_size));
    spn.BindInt64(5, sp.pages);
    spn.BindInt64(6, sp.capacity);
    spn.BindInt64(7, sp.cached);
    spn.BindInt64(8, static_cast<int64_t>(sp.allocation_ids.size()));
    spn.BindInt64(9, static_cast<int64_t>(sp.live_requested_bytes));
    spn.BindInt64(10, static_cast<int64_t>(sp.free_bytes));
    ATR_RETURN_IF_ERROR(spn.Run());
    for (int64_t a : sp.allocation_ids) {
      blm.BindInt64(1, id);
      blm.BindInt64(2, static_cast<int64_t>(sp.address));
      blm.BindInt64(3, a);
      ATR_RETURN_IF_ERROR(blm.Run());
    }
  }

  ATR_ASSIGN_OR_RETURN(
      SqlStatement prb,
      SqlStatement::Prepare(db,
                            "INSERT INTO replay_problems VALUES "
                            "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
                            "storing replay problems"));
  for (const Problem& p : run.problems.problems()) {
    prb.BindInt64(1, id);
    prb.BindText(2, ProblemKindName(p.kind));
    prb.BindInt64(3, p.pid);
    prb.BindInt64(4, static_cast<int64_t>(p.addr));
    prb.BindIdOrNull(5, p.offending.seq);
    prb.BindInt64(6, p.offending.ts_ns);
    prb.BindInt64(7, p.offending.tid);
    prb.BindInt64(8, static_cast<int64_t>(p.offending.op));
    prb.BindIdOrNull(9, p.offending.stack);
    prb.BindInt64(10, static_cast<int64_t>(p.offending.size));
    BindRef(prb, 11, p.allocation, false);
    BindRef(prb, 14, p.first_release, false);
    if (p.detail.empty()) prb.BindNull(17); else prb.BindText(17, p.detail);
    ATR_RETURN_IF_ERROR(prb.Run());
  }
  return id;
}

}  // namespace

absl::StatusOr<int64_t> StoreReplay(const std::string& trace_path, const ReplayRun& run,
                                    const std::string& counterfactual) {
  absl::StatusOr<TableTransaction> t = TableTransaction::Begin(trace_path, {TableGroup::kReplay});
  if (!t.ok()) {
    return absl::Status(t.status().code(),
                        absl::StrCat("cannot store the replay in the trace: ", t.status().message(),
                                     " (use --no-store)"));
  }
  ATR_ASSIGN_OR_RETURN(int64_t id, Write(t->database(), run, counterfactual));
  ATR_RETURN_IF_ERROR(t->Commit());
  return id;
}

absl::StatusOr<int64_t> NewestReplay(const TraceReader& reader, const std::string& where) {
  if (!reader.HasTable("replays")) return 0;
  ATR_ASSIGN_OR_RETURN(std::string counterfactual,
                       ColumnOrNull(reader, "replays", "counterfactual"));
  ATR_ASSIGN_OR_RETURN(
      QueryCursor q,
      QueryCursor::Run(reader, absl::StrCat("SELECT coalesce(max(id), 0) FROM replays WHERE (",
                                            where, ") AND ", counterfactual, " IS NULL")));
  const int64_t id = q.Next() ? q.Int(0) : 0;
  if (!q.status().ok()) return q.status();
  return id;
}

}  // namespace atr::replay
