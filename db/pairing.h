// Pairing: the allocation pass's state machine, fed one event at a time in
// seq order. Pairs every heap acquisition with the release that ended it
// (rules in db/allocations.h and docs/trace-format.md), and on the way
// counts what Finish() stores beside the pairs: op_stats, stack_stats and
// the meta alloc_* keys. Internal to db/.
//
// Two drivers share it: the TraceWriter feeds it while events are inserted
// (db/online_pairing.h), and BuildAllocationsOn feeds it from a scan of
// event_log when the online state was not kept (atr import, re-pairing).
//
// Memory is bounded by the blocks live at once, plus at most `max_window`
// 16-byte entries that keep the pairs written in alloc_seq order; a block
// that outlives the window is written open (free_seq NULL) and updated if
// it is released later.
//
//   Pairing p(&db, &pairs_inserter, /*max_window=*/1 << 20);
//   p.AddProcess(2, 1);
//   for each event in seq order: ATR_RETURN_IF_ERROR(p.OnEvent(...));
//   ATR_ASSIGN_OR_RETURN(AllocationStats s, p.Finish());
//   ATR_RETURN_IF_ERROR(p.WriteResults(db, s));  // inside the caller's transaction
#ifndef ATR_DB_PAIRING_H_
#define ATR_DB_PAIRING_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "db/batch_inserter.h"
#include "db/ops.h"
#include "db/sqlite.h"
#include "db/trace_rows.h"

namespace atr::db_internal {

struct LiveBlock {
  int64_t alloc_seq;
  uint64_t size;
  uint64_t slot;   // its entry's position in the window, counted since the pass began
  int64_t stack;   // events.stack of the acquisition, 0 = not recorded
};

// The stack_stats table: per allocation stack, what `atr top`, `atr leaks`
// and `atr info` would otherwise compute by joining every pair to its event.
//
// peak_bytes is defined as the SQL defines it (kTopByStackSql): requested
// bytes of the pairs with alloc_seq <= P and (free_seq NULL or > P), P the
// pass's peak seq, known only at the end. So each stack keeps its bytes
// live by that definition (`live`, changed when a pair opens and when it
// gets a real free_seq; never-released pairs stay live) and, lazily, its
// value at the latest peak: the first change after a peak saves the value
// the stack had at it; a stack unchanged since then still holds it in `live`.
class StackTotals {
 public:
  struct Totals {
    int64_t calls = 0;
    int64_t bytes = 0;
    int64_t leaked = 0;
    int64_t leaked_bytes = 0;
    int64_t first_leak_seq = 0;  // 0 = none
    int64_t live = 0;            // bytes live by the SQL definition, now
    int64_t at_peak = 0;         // value at the latest peak, when changed_seq > peak
    int64_t changed_seq = 0;     // seq at which `live` last changed
  };

  // `peak_seq` is the pass's current peak seq; the totals read it at every
  // change.
  explicit StackTotals(const int64_t* peak_seq) : peak_seq_(peak_seq) {}

  void Acquired(const LiveBlock& b);
  // b got free_seq `seq`, the event being processed (a realloc_release is
  // counted here too, before its outcome is known; see Unreleased).
  void Released(const LiveBlock& b, int64_t seq);
  // The realloc_release at `release_seq` counted by Released did not
  // release b after all (the realloc failed or never returned): b was live
  // all along, at the current peak too if the release came before it.
  void Unreleased(const LiveBlock& b, int64_t release_seq);
  // b ends with free_seq NULL.
  void Leaked(const LiveBlock& b);

  int64_t PeakBytes(const Totals& t) const {
    return t.changed_seq <= *peak_seq_ ? t.live : t.at_peak;
  }
  const absl::flat_hash_map<int64_t, Totals>& totals() const { return totals_; }

 private:
  Totals& Change(int64_t stack, int64_t seq);

  const int64_t* peak_seq_;
  absl::flat_hash_map<int64_t, Totals> totals_;  // by stack
};

class Pairing {
 public:
  // Pairs go to `out` (allocation_pairs of `db`: alloc_seq, free_seq).
  Pairing(SqlDatabase* db, BatchInserter* out, size_t max_window);

  // A processes row: `ppid` is the pid's parent as recorded. A release in
  // pid of a block live in a traced parent counts as inherited. Returns
  // false if the pass already counted a miss this row would have changed
  // (the row came after events it describes): the pass's counts are then
  // not those a fresh pass would give.
  bool AddProcess(int32_t pid, std::optional<int32_t> ppid);

  // One event, in seq order. `thread` is threads.id, `stack` 0 = none.
  absl::Status OnEvent(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr,
                       uint64_t size, int64_t stack);

  // Blocks still live at the end stay open; so do reallocs whose call never
  // returned (the process died inside realloc: the old block was live).
  // Flushes `out`.
  absl::StatusOr<AllocationStats> Finish();

  // op_stats, stack_stats and the meta alloc_* keys, replacing what the
  // tables held. REQUIRES: Finish() returned `stats`; db in a transaction.
  absl::Status WriteResults(SqlDatabase& db, const AllocationStats& stats) const;

 private:
  // A realloc_release waiting for its thread's next event, which tells
  // whether the realloc succeeded (DESIGN.md §4: the release is numbered
  // before the call, the acquisition after it returns).
  struct PendingRealloc {
    int32_t pid;
    uint64_t addr;
    int64_t release_seq;
    bool was_live;   // the old block was live (else already counted unmatched)
    LiveBlock block;
  };
  struct ProcessHeap {
    absl::flat_hash_map<uint64_t, LiveBlock> live;  // addr -> open allocation
  };
  struct WindowEntry {
    int64_t alloc_seq;
    int64_t free_seq;  // kOpen while live, 0 never released, else the release
  };
  struct OpCount {
    int64_t calls = 0;
    int64_t bytes = 0;
  };
  static constexpr int64_t kOpen = -1;

  ProcessHeap& Heap(int32_t pid) { return heaps_[pid]; }
  absl::Status Close(const LiveBlock& b, int64_t free_seq);
  uint64_t NextSlot() const { return window_base_ + window_.size(); }
  absl::Status Opened(int64_t alloc_seq);
  absl::Status Drain();
  absl::Status Emit(int64_t alloc_seq, int64_t free_seq);
  absl::Status PatchDetached(int64_t alloc_seq, int64_t free_seq);
  absl::Status Reopen(const PendingRealloc& p);
  absl::Status Acquire(int64_t seq, int32_t pid, Op op, uint64_t addr, uint64_t size,
                       int64_t stack);
  absl::Status Release(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr);
  void CountMiss(int32_t pid, uint64_t addr);
  absl::Status EndImage(int32_t pid);

  size_t max_window_;  // entries (16 bytes each)
  SqlDatabase* db_;
  BatchInserter* out_;
  std::optional<SqlStatement> patch_;  // UPDATE of a detached block's row
  std::deque<WindowEntry> window_;  // allocations from the oldest unwritten one, by alloc_seq
  uint64_t window_base_ = 0;        // slot of window_.front()
  absl::flat_hash_map<int32_t, int32_t> ppids_;    // pid -> ppid as recorded
  absl::flat_hash_set<int32_t> traced_pids_;       // pids with a processes row
  absl::flat_hash_set<int32_t> missed_pids_;       // pids with an unmatched release so far
  absl::flat_hash_map<int32_t, ProcessHeap> heaps_;
  absl::flat_hash_map<int64_t, PendingRealloc> pending_;  // by events.thread
  std::vector<OpCount> op_counts_ = std::vector<OpCount>(kOpCount);
  uint64_t live_bytes_ = 0;
  AllocationStats stats_;
  StackTotals stack_totals_{&stats_.peak_live_seq};
};

// Creates op_stats and stack_stats where missing (traces older than the
// tables). REQUIRES: db in a transaction.
absl::Status CreateResultTables(SqlDatabase& db);

}  // namespace atr::db_internal

#endif  // ATR_DB_PAIRING_H_
