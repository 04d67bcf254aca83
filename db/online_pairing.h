// OnlinePairing: the allocation pass run while a TraceWriter inserts
// events, so Finish() need not read every event back. Internal to db/.
//
// Events may reach the writer out of seq order (the collector sorts each
// batch, but a thread's chunk can reach the spool after a later seq's).
// They wait in a reorder window of at most 2 * kReorderWindow events and
// enter the Pairing in seq order. An event older than one already paired
// makes the online result inexact: it is dropped (Abandoned()) and
// Finish() falls back to the pass over event_log (BuildAllocationsOn), as
// does a processes row that arrives after the events it would have changed.
//
//   OnlinePairing p(&db, &pairs_inserter);
//   p.Add({.seq = 7, .thread = 1, .pid = 42, .op = Op::kMalloc, ...});
//   ...
//   absl::StatusOr<std::optional<AllocationStats>> s = p.Finish(db);  // nullopt: abandoned
#ifndef ATR_DB_ONLINE_PAIRING_H_
#define ATR_DB_ONLINE_PAIRING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pairing.h"

namespace atr::db_internal {

// What the pass needs of an event.
struct PairingEvent {
  int64_t seq;
  int64_t thread;  // threads.id
  uint64_t addr;
  uint64_t size;
  int64_t stack;   // 0: none
  int32_t pid;
  Op op;
};

class OnlinePairing {
 public:
  // Events held back for reordering: 2^18 (10 MiB at most) covers the
  // spool's 100 ms flush age at ~2.5 M events/s.
  static constexpr size_t kReorderWindow = size_t{1} << 18;

  // Pairs go to `out`, an inserter into db's allocation_pairs.
  OnlinePairing(SqlDatabase* db, BatchInserter* out, size_t reorder_window = kReorderWindow);

  // REQUIRES: e.seq unique. Cheap when seqs arrive in order.
  absl::Status Add(const PairingEvent& e);
  // A processes row (see Pairing::AddProcess).
  void AddProcess(int32_t pid, std::optional<int32_t> ppid);

  // The result is not exact any more; pairs written so far must be
  // replaced by a full pass.
  bool abandoned() const { return pairing_ == nullptr; }

  // Pairs what is left, then writes op_stats, stack_stats and meta.
  // nullopt when abandoned (nothing written). REQUIRES: db in a transaction.
  absl::StatusOr<std::optional<AllocationStats>> Finish(SqlDatabase& db);

 private:
  // Sorts the window and pairs its oldest `n` events.
  absl::Status Release(size_t n);
  void Abandon();

  size_t reorder_window_;
  std::unique_ptr<Pairing> pairing_;  // null once abandoned
  std::vector<PairingEvent> window_;   // not yet paired; sorted unless `unsorted_`
  bool unsorted_ = false;
  int64_t paired_up_to_ = 0;           // highest seq given to the pairing
};

}  // namespace atr::db_internal

#endif  // ATR_DB_ONLINE_PAIRING_H_
