// The table unwinder inside libatr_preload.so: how often it answered, how
// often it fell back to libunwind (by reason), and, with
// ATR_UNWIND_CROSSCHECK=1, how often its stack differed from unw_backtrace's
// for the same event.
//
// Reporting: ATR_UNWIND_STATS=1 or ATR_UNWIND_CROSSCHECK=1 print one line
// per process at exit on stderr,
//   atr-unwind: pid=<pid> table=<n> fallback=<n> no_module=<n> no_fde=<n>
//     unsupported=<n> outside_stack=<n> compared=<n> mismatches=<n>
// and every one of the first 8 mismatches at once as
//   atr-unwind-mismatch: pid=<pid> table=<pc,pc,...> libunwind=<pc,...>
// Counters are relaxed atomics; events and comparisons are only counted
// when reporting is on.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_UNWIND_REPORT_H_
#define ATR_RECORDER_PRELOAD_UNWIND_UNWIND_REPORT_H_

#include <cstdint>

#include "recorder/preload/unwind/table_unwinder.h"

namespace atr::preload {

struct UnwindReportFlags {
  bool stats;       // count table events; print the line at exit
  bool crosscheck;  // compare every table stack with unw_backtrace's
};
extern UnwindReportFlags g_unwind_report;

void ReadUnwindReportFlags();  // from the environment; idempotent
void CountTableEvent();
void CountFallback(unwind::WalkStatus why);
// Both stacks with the preload's own frames already dropped.
void CompareStacks(const uint64_t* table, uint32_t table_depth, const uint64_t* reference,
                   uint32_t reference_depth);

}  // namespace atr::preload

#endif  // ATR_RECORDER_PRELOAD_UNWIND_UNWIND_REPORT_H_
