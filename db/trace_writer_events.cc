// TraceWriter's events on their way into the trace: each is staged (its
// thread's id, the allocation pass) and then inserted in batches with the
// late frees the pass found; stack nodes are batched the same way. Staging
// and inserting are separate so a caller can run the two on different
// threads (TraceWriter::StageEvents).
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/trace_writer.h"
#include "db/trace_writer_state.h"

namespace atr {

using db_internal::BatchInserter;
using db_internal::StagedEvents;
using db_internal::SqlStatement;

namespace {

// event_log's columns (db/schema.h).
using db_internal::EventValues;
using db_internal::kArg, db_internal::kAddr, db_internal::kEventColumns,
    db_internal::kEventNullIfZero, db_internal::kFreeAfter, db_internal::kOp, db_internal::kSeq,
    db_internal::kSize, db_internal::kSpDepth, db_internal::kStack, db_internal::kThread,
    db_internal::kTs;

constexpr uint32_t kStackNullIfZero = 1u << 1;  // stacks(id, parent, frame): parent

}  // namespace

absl::Status TraceWriter::State::PrepareEventStatements() {
  ATR_ASSIGN_OR_RETURN(events,
                       BatchInserter::Create(db, "event_log", kEventColumns, kEventNullIfZero,
                                             "inserting events"));
  ATR_ASSIGN_OR_RETURN(stack_nodes,
                       BatchInserter::Create(db, "stacks", 3, kStackNullIfZero,
                                             "inserting stack nodes"));
  ATR_ASSIGN_OR_RETURN(
      thread_insert,
      SqlStatement::Prepare(db,
                            "INSERT OR IGNORE INTO threads(id, pid, tid) VALUES(?1,?2,?3)",
                            "writing threads"));
  ATR_ASSIGN_OR_RETURN(late_frees,
                       BatchInserter::Create(db, "late_frees", 2, /*null_if_zero=*/0,
                                             "writing late frees", "INSERT OR REPLACE"));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TraceWriter::State::ThreadId(int32_t pid, int32_t tid,
                                                     StagedEvents* defer) {
  const uint64_t key = db_internal::ThreadKey(pid, tid);
  if (key == last_thread_key && last_thread_id != 0) return last_thread_id;
  auto [it, inserted] = thread_ids.try_emplace(key, 0);
  if (inserted) {
    it->second = next_thread_id++;
    if (defer != nullptr) {
      defer->threads.push_back({it->second, pid, tid});
    } else {
      absl::Status s = InsertThread({it->second, pid, tid});
      if (!s.ok()) {
        thread_ids.erase(it);
        return s;
      }
    }
  }
  last_thread_key = key;
  last_thread_id = it->second;
  return it->second;
}

absl::Status TraceWriter::State::InsertThread(const StagedEvents::Thread& t) {
  thread_insert.BindInt64(1, t.id);
  thread_insert.BindInt64(2, t.pid);
  thread_insert.BindInt64(3, t.tid);
  return thread_insert.Run();
}

absl::Status TraceWriter::State::Stage(const EventRow& e, StagedEvents* out) {
  if (e.seq < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(db.path(), ": event seq ", e.seq, " is not >= 1"));
  }
  if (!IsKnownOp(static_cast<uint8_t>(e.op))) {
    return absl::InvalidArgumentError(absl::StrCat(db.path(), ": event seq ", e.seq,
                                                   ": unknown op code ", static_cast<int>(e.op)));
  }
  ATR_ASSIGN_OR_RETURN(int64_t thread, ThreadId(e.pid, e.tid, out));
  EventValues row;
  row[kSeq] = e.seq;
  row[kTs] = e.ts_ns;
  row[kThread] = thread;
  row[kOp] = static_cast<int64_t>(e.op);
  // Addresses and sizes are stored as the int64 with the same bits (an
  // sbrk that shrinks shows a negative size in SQL).
  row[kAddr] = static_cast<int64_t>(e.addr);
  row[kSize] = static_cast<int64_t>(e.size);
  row[kArg] = static_cast<int64_t>(e.arg);
  row[kStack] = e.stack;
  row[kSpDepth] = e.sp_depth;
  row[kFreeAfter] = 0;  // the allocation pass fills it in
  ++events_added;
  if (online == nullptr) {
    out->rows.push_back(row);
    return absl::OkStatus();
  }
  return online->Add(row, e.pid);
}

void TraceWriter::State::TakeOnline(StagedEvents* out) {
  if (online == nullptr) return;
  StagedEvents& from = online->staged();
  if (out->empty()) {
    std::swap(*out, from);
  } else {
    out->rows.insert(out->rows.end(), from.rows.begin(), from.rows.end());
    out->late_frees.insert(out->late_frees.end(), from.late_frees.begin(),
                           from.late_frees.end());
  }
  from.Clear();
}

absl::Status TraceWriter::State::InsertStaged(StagedEvents& st, bool may_commit) {
  for (const StagedEvents::Thread& t : st.threads) ATR_RETURN_IF_ERROR(InsertThread(t));
  for (const EventValues& row : st.rows) {
    std::copy(row.begin(), row.end(), events.Row());
    ATR_RETURN_IF_ERROR(events.Commit());
  }
  // In alloc_seq order: each row is a b-tree seek (late frees come in
  // release order), and sorted seeks walk the same pages. Stable: a
  // repeated alloc_seq keeps its last free_seq (OR REPLACE).
  std::stable_sort(st.late_frees.begin(), st.late_frees.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [alloc_seq, free_seq] : st.late_frees) {
    int64_t* row = late_frees.Row();
    row[0] = alloc_seq;
    row[1] = free_seq;
    ATR_RETURN_IF_ERROR(late_frees.Commit());
  }
  events_since_commit += static_cast<int64_t>(st.rows.size());
  st.Clear();
  if (may_commit && events_since_commit >= options.commit_every_events &&
      !options.commit_on_flush_only) {
    return CommitAndBegin(/*all_rows=*/false);
  }
  return absl::OkStatus();
}

StagedEventRows::StagedEventRows() = default;
StagedEventRows::StagedEventRows(StagedEventRows&&) noexcept = default;
StagedEventRows& StagedEventRows::operator=(StagedEventRows&&) noexcept = default;
StagedEventRows::~StagedEventRows() = default;

absl::Status TraceWriter::AddEvent(const EventRow& e) {
  return AddEvents(absl::Span<const EventRow>(&e, 1));
}

absl::Status TraceWriter::AddEvents(absl::Span<const EventRow> events) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  for (const EventRow& e : events) ATR_RETURN_IF_ERROR(s.Stage(e, &s.own_staged));
  s.TakeOnline(&s.own_staged);
  return s.InsertStaged(s.own_staged);
}

absl::Status TraceWriter::StageEvents(absl::Span<const EventRow> events, StagedEventRows* out) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (out->staged == nullptr) out->staged = std::make_unique<db_internal::StagedEvents>();
  for (const EventRow& e : events) ATR_RETURN_IF_ERROR(s.Stage(e, out->staged.get()));
  s.TakeOnline(out->staged.get());
  return absl::OkStatus();
}

absl::Status TraceWriter::InsertStagedEvents(StagedEventRows* rows) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (rows->staged == nullptr) return absl::OkStatus();
  return s.InsertStaged(*rows->staged);
}

absl::Status TraceWriter::AddStackNode(const StackNodeRow& n) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (n.id <= 0 || n.frame <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(s.db.path(), ": stack node ", n.id,
                                                   " (frame ", n.frame, "): ids must be > 0"));
  }
  int64_t* row = s.stack_nodes.Row();
  row[0] = n.id;
  row[1] = n.parent;
  row[2] = n.frame;
  return s.stack_nodes.Commit();
}

}  // namespace atr
