// OnlinePairing: the allocation pass run while a TraceWriter inserts
// events, so each allocation's release goes into its own event_log row
// (free_after) and Finish() need not read any event back. Internal to db/.
//
// Rows pass through two bounded windows before they are inserted:
//   reorder  events may reach the writer out of seq order (the collector
//            sorts each batch, but a thread's chunk can reach the spool
//            after a later seq's). At most 2 * reorder_window rows wait;
//            the oldest half then enters the Pairing in seq order.
//   held     paired rows, in seq order, wait while the oldest allocation
//            among them is still live, so its row is inserted with its
//            release. Past held_window rows (or at FlushRows, a commit the
//            caller needs) the oldest rows are inserted anyway; a release
//            found later for such a row goes to the late_frees table.
//            FlushRows first pairs the reorder window's rows that are older
//            than twice the worst lateness seen so far.
// Rows are thus inserted in seq order (appends: full pages, no seeks).
// An event older than one already paired makes the online pass inexact:
// it is abandoned (every held row inserted, later rows inserted directly)
// and the writer runs the pass over event_log instead (BuildAllocationsOn),
// as for a processes row that arrives after the events it would change.
//
// It does no SQLite work of its own until Finish(): rows to insert and
// late releases collect in staged(), which the writer inserts, maybe on
// another thread (TraceWriter::StageEvents).
//
//   OnlinePairing p;
//   p.Add(row, pid);             // row: event_log columns (EventColumn)
//   p.FlushRows();               // before a commit that must hold every row
//   insert p.staged().rows, p.staged().late_frees; p.staged().Clear();
//   absl::StatusOr<std::optional<AllocationStats>> s = p.Finish(db);  // nullopt: abandoned
#ifndef ATR_DB_ONLINE_PAIRING_H_
#define ATR_DB_ONLINE_PAIRING_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pairing.h"
#include "db/schema.h"

namespace atr::db_internal {

using EventValues = std::array<int64_t, kEventColumns>;

// Work for SQLite, in the order it must be done: threads rows, then event
// rows (seq order as far as known), then late_frees rows.
struct StagedEvents {
  struct Thread {
    int64_t id;
    int32_t pid;
    int32_t tid;
  };
  std::vector<Thread> threads;                          // new threads rows
  std::vector<EventValues> rows;                        // event_log rows
  std::vector<std::pair<int64_t, int64_t>> late_frees;  // (alloc_seq, free_seq)

  bool empty() const { return threads.empty() && rows.empty() && late_frees.empty(); }
  void Clear() {
    threads.clear();
    rows.clear();
    late_frees.clear();
  }
};

class OnlinePairing : private PairSink {
 public:
  // 2^17 events of reordering covers the spool's 100 ms flush age at
  // ~1.3 M events/s; rows are 96 bytes: at most 24 MiB reordering, 24 MiB
  // held.
  static constexpr size_t kReorderWindow = size_t{1} << 17;
  static constexpr size_t kHeldWindow = size_t{1} << 18;

  explicit OnlinePairing(size_t reorder_window = kReorderWindow,
                         size_t held_window = kHeldWindow);
  ~OnlinePairing() override;

  // REQUIRES: row[kSeq] unique; row[kFreeAfter] is ignored.
  absl::Status Add(const EventValues& row, int32_t pid);
  // A processes row (see Pairing::AddProcess).
  absl::Status AddProcess(int32_t pid, std::optional<int32_t> ppid);
  // Inserts every row added so far (the pairing goes on: releases of the
  // allocations among them go to late_frees).
  absl::Status FlushRows();

  bool abandoned() const { return pairing_ == nullptr; }

  // What the calls so far left to insert; the caller clears it.
  StagedEvents& staged() { return staged_; }

  // Pairs what is left (staging every row), then writes op_stats,
  // stack_stats and meta. nullopt when abandoned (no results written).
  // REQUIRES: db in a transaction.
  absl::StatusOr<std::optional<AllocationStats>> Finish(SqlDatabase& db);

 private:
  struct Pending {
    EventValues row;
    int32_t pid;
    bool inserted;  // by FlushRows, before it was paired
  };
  static constexpr int64_t kOpen = -1;      // held row's free_after while its block lives
  static constexpr int64_t kInserted = -1;  // tag of a block whose row is already inserted

  int64_t Opened(int64_t alloc_seq, int64_t tag) override;
  absl::Status Closed(const LiveBlock& b, int64_t free_seq) override;

  void SortPending();
  absl::Status Release(size_t n);           // pairs the n oldest pending rows
  absl::Status DrainHeld(size_t keep);      // inserts resolved rows, and old ones past `keep`
  void Insert(const EventValues& row) { staged_.rows.push_back(row); }
  absl::Status Abandon();

  size_t reorder_window_;
  size_t held_window_;
  std::unique_ptr<Pairing> pairing_;  // null once abandoned
  std::vector<Pending> pending_;      // not yet paired; sorted unless `unsorted_`
  bool unsorted_ = false;
  int64_t paired_up_to_ = 0;          // highest seq given to the pairing
  int64_t newest_seq_ = 0;            // highest seq added
  int64_t disorder_ = 0;              // most seqs an added event came after a newer one
  std::deque<EventValues> held_;      // paired, not inserted, by seq
  uint64_t held_base_ = 0;            // slot of held_.front(), counted since the start
  bool opened_ = false;               // the event being paired opened an allocation
  StagedEvents staged_;
};

}  // namespace atr::db_internal

#endif  // ATR_DB_ONLINE_PAIRING_H_
