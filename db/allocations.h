// BuildAllocations: pairs every heap acquisition in a trace with the release
// that ended it, storing the pairing in the acquisition's event_log row
// (`free_after`, or a `late_frees` row; read through the `allocations`
// view; see docs/trace-format.md). TraceWriter runs the same pass while
// events are inserted (db/online_pairing.h); this one re-reads them.
//
// One streaming pass over events in seq order (db/pairing.h); memory is
// bounded by the blocks live at any one time. Per process (pid):
//   - heap acquisitions (ops with role acquire, family malloc/new/new[]) with
//     addr != 0 open an allocation; releases (free, delete*, realloc_release)
//     close the live allocation at their address;
//   - realloc is realloc_release (closes the old block) then realloc (opens
//     the new one). If that realloc failed (addr 0, size > 0) the old block
//     was never released: it stays open. realloc(p, 0) returning 0 releases p;
//   - a release of an address that is not live is counted, not paired
//     (double free, free of an unknown pointer); so is a release in a forked
//     child of a block still live in its parent (inherited_releases);
//   - a process_start event ends the blocks of the pid's previous image
//     (exec, or pid reuse): they stay open (never released);
//   - mmap/munmap are not paired (partial unmaps do not map onto blocks).
// Results also go to meta as alloc_* keys, op_stats and stack_stats.
// Re-running replaces them all.
//
//   absl::StatusOr<atr::AllocationStats> s = atr::BuildAllocations("run.db");
//   if (s.ok()) printf("%lld leaked\n", (long long)s->leaked);
#ifndef ATR_DB_ALLOCATIONS_H_
#define ATR_DB_ALLOCATIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "db/trace_rows.h"

namespace atr {

// Opens the trace for writing, runs the pass, commits. For `atr import` and
// for re-pairing a trace; TraceWriter::Finish() runs the same pass.
[[nodiscard]] absl::StatusOr<AllocationStats> BuildAllocations(const std::string& trace_path);

namespace db_internal {
class SqlDatabase;
// The pass on an open connection (not inside a transaction): rewrites the
// stored pairing (free_after, late_frees) where it differs from the pass's.
absl::StatusOr<AllocationStats> BuildAllocationsOn(SqlDatabase& db);
}  // namespace db_internal

}  // namespace atr

#endif  // ATR_DB_ALLOCATIONS_H_
