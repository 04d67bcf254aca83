// `atr who ADDR [--at SEQ]`: which allocation held an address at a moment,
// with its allocation and release stacks, and every allocation that ever
// covered the address (its history), oldest first.
#ifndef ATR_ANALYSIS_REPORTS_WHO_REPORT_H_
#define ATR_ANALYSIS_REPORTS_WHO_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/model/stack_view.h"
#include "db/trace_reader.h"

namespace atr {

struct WhoOptions {
  uint64_t addr = 0;
  std::optional<int64_t> at_seq;  // default: the end of the trace
  std::optional<int32_t> pid;     // default: every process
};

struct WhoAllocation {
  AllocationRow row;
  StackView alloc_stack;
  StackView free_stack;  // empty when never released
};

struct WhoReport {
  uint64_t addr = 0;
  std::optional<int64_t> at_seq;
  std::optional<WhoAllocation> holder;  // live and covering addr at at_seq
  std::vector<WhoAllocation> history;   // every allocation that covered addr
};

// Allocations covering an address (docs/queries.md, "atr who").
inline constexpr char kAddressHistorySql[] =
    "SELECT id, pid, addr, size, align, op, alloc_seq, free_seq, free_op, alloc_stack, "
    "free_stack, alloc_tid, free_tid FROM allocations "
    "WHERE addr <= ?1 AND ?1 < addr + max(size, 1) ORDER BY alloc_seq";

absl::StatusOr<WhoReport> ComputeWho(TraceReader& reader, const WhoOptions& options);
std::string RenderWhoText(const WhoReport& r);
std::string RenderWhoJson(const WhoReport& r);
// The history as CSV, one allocation a row, oldest first; `holder` marks the
// one live at the moment (columns in docs/queries.md).
std::string RenderWhoCsv(const WhoReport& r);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_WHO_REPORT_H_
