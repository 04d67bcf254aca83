// The table unwinder inside libatr_preload.so: how often it answered, how
// often it fell back to libunwind (by reason), and, with
// ATR_UNWIND_CROSSCHECK=1, how often its stack differed from unw_backtrace's
// for the same event.
//
// Reporting: ATR_UNWIND_STATS=1 or ATR_UNWIND_CROSSCHECK=1 print one line
// per process at exit on stderr,
//   atr-unwind: pid=<pid> table=<n> fallback=<n> no_module=<n> no_fde=<n>
//     unsupported=<n> outside_stack=<n> compared=<n> mismatches=<n>
//     id_mismatches=<n> memo_copied=<n> memo_stepped=<n>
// (id_mismatches: table stacks whose id, built from the walk memo's partial
// sums, differs from the id hashed from scratch; memo_copied/stepped: frames
// of table walks re-used from the thread's previous walk / stepped by rule)
// and every one of the first 8 mismatches at once as
//   atr-unwind-mismatch: pid=<pid> table=<pc,pc,...> libunwind=<pc,...>
// Counters are relaxed atomics; events and comparisons are only counted
// when reporting is on.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_UNWIND_REPORT_H_
#define ATR_RECORDER_PRELOAD_UNWIND_UNWIND_REPORT_H_

#include <cstdint>

#include "recorder/preload/unwind/table_unwinder.h"

namespace atr::preload {

// Settings read at init and carried into exec'd images (process_state.cc).
inline constexpr char kEnvUnwindStats[] = "ATR_UNWIND_STATS";
inline constexpr char kEnvUnwindCrosscheck[] = "ATR_UNWIND_CROSSCHECK";

struct UnwindReportFlags {
  bool stats;       // count table events; print the line at exit
  bool crosscheck;  // compare every table stack with unw_backtrace's
};
extern UnwindReportFlags g_unwind_report;

void ReadUnwindReportFlags();  // from the environment; idempotent
// A table walk's event, with the frames its memo re-used and stepped.
void CountTableEvent(uint64_t frames_copied, uint64_t frames_stepped);
void CountFallback(unwind::WalkStatus why);
// A stack's id against the id hashed from scratch (crosscheck mode).
void CompareStackIds(uint64_t id, uint64_t reference);
// Both stacks with the preload's own frames already dropped.
void CompareStacks(const uint64_t* table, uint32_t table_depth, const uint64_t* reference,
                   uint32_t reference_depth);

}  // namespace atr::preload

#endif  // ATR_RECORDER_PRELOAD_UNWIND_UNWIND_REPORT_H_
