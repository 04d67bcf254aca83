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
// Where a pair ends up is the PairSink's business (the acquisition's
// event_log row, or the late_frees table). Memory is bounded by the blocks
// live at once.
//
//   Pairing p(&sink);
//   p.AddProcess(2, 1);
//   for each event in seq order: ATR_RETURN_IF_ERROR(p.OnEvent(...));
//   ATR_ASSIGN_OR_RETURN(AllocationStats s, p.Finish());
//   ATR_RETURN_IF_ERROR(p.WriteResults(db, s));  // inside the caller's transaction
#ifndef ATR_DB_PAIRING_H_
#define ATR_DB_PAIRING_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "db/ops.h"
#include "db/sqlite.h"
#include "db/trace_rows.h"

namespace atr::db_internal {

struct LiveBlock {
  int64_t alloc_seq;
  uint64_t size;
  int64_t tag;     // what PairSink::Opened returned for it
  int64_t stack;   // events.stack of the acquisition, 0 = not recorded
};

// Receives the pairs. Every Opened is followed, later, by exactly one
// Closed of the same block (at the latest in Pairing::Finish).
class PairSink {
 public:
  virtual ~PairSink() = default;
  // An allocation opens at `alloc_seq`; `tag` is what the driver passed
  // with its event. Returns the block's tag for Closed.
  virtual int64_t Opened(int64_t alloc_seq, int64_t tag) = 0;
  // b ends: released at free_seq, or 0 = never released.
  virtual absl::Status Closed(const LiveBlock& b, int64_t free_seq) = 0;
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
  explicit Pairing(PairSink* sink) : sink_(sink) {}

  // A processes row: `ppid` is the pid's parent as recorded. A release in
  // pid of a block live in a traced parent counts as inherited. Returns
  // false if the pass already counted a miss this row would have changed
  // (the row came after events it describes): the pass's counts are then
  // not those a fresh pass would give.
  bool AddProcess(int32_t pid, std::optional<int32_t> ppid);

  // One event, in seq order. `thread` is threads.id, `stack` 0 = none;
  // `tag` goes to PairSink::Opened if the event opens an allocation.
  absl::Status OnEvent(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr,
                       uint64_t size, int64_t stack, int64_t tag = 0);

  // Blocks still live at the end stay open; so do reallocs whose call never
  // returned (the process died inside realloc: the old block was live).
  absl::StatusOr<AllocationStats> Finish();

  // op_stats, stack_stats and the meta alloc_* keys, replacing what the
  // tables held. REQUIRES: Finish() returned `stats`; db in a transaction.
  absl::Status WriteResults(SqlDatabase& db, const AllocationStats& stats) const;

 private:
  // A realloc_release waiting for its thread's next event, which tells
  // whether the realloc succeeded (docs/trace-format.md, "Ordering": the
  // release is numbered before the call, the acquisition after it returns).
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
  struct OpCount {
    int64_t calls = 0;
    int64_t bytes = 0;
  };

  ProcessHeap& Heap(int32_t pid) { return heaps_[pid]; }
  absl::Status Close(const LiveBlock& b, int64_t free_seq);
  absl::Status Reopen(const PendingRealloc& p);
  absl::Status Acquire(int64_t seq, int32_t pid, Op op, uint64_t addr, uint64_t size,
                       int64_t stack, int64_t tag);
  absl::Status Release(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr);
  void CountMiss(int32_t pid, uint64_t addr);
  absl::Status EndImage(int32_t pid);

  PairSink* sink_;
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
