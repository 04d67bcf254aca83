// Text, JSON and CSV rendering of replay results, check findings and allocator
// comparisons for the CLI (`atr replay`, `atr check`, `atr compare`), with
// symbolized stacks from analysis/model. Here, not in replayer/, so the
// replayer needs no analysis code.
//
//   StackViews views(&reader);
//   ATR_ASSIGN_OR_RETURN(std::string text, RenderProblemsText(run.problems, &views, 20));
#ifndef ATR_ANALYSIS_REPORTS_REPLAY_REPORT_H_
#define ATR_ANALYSIS_REPORTS_REPLAY_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/model/stack_view.h"
#include "base/json_writer.h"
#include "replayer/checks.h"
#include "replayer/compare.h"
#include "replayer/replay_result.h"

namespace atr::replay {

// Every misuse problem with its stacks (up to `limit`, 0 = all), then leaks
// grouped by allocation stack (up to `limit` groups), then notes.
absl::StatusOr<std::string> RenderProblemsText(const ProblemLog& log, StackViews* views,
                                               int limit);
// {"counts": {...}, "problems": [...]}, fields in docs/replay.md.
absl::Status WriteProblemsJson(JsonWriter& j, const ProblemLog& log, StackViews* views, int limit);
// The problems of the JSON (same order and limit), one a row: kind, pid,
// addr, detail, then seq/ts_ns/tid/op/size/stack_id/site of the call, the
// allocation and the first release (columns in docs/replay.md).
absl::StatusOr<std::string> RenderProblemsCsv(const ProblemLog& log, StackViews* views, int limit);

std::string RenderReplayText(const ReplayRun& run, int64_t replay_id);
// The summary's fields as members of the object open in `j`, or as a
// one-row CSV with the same names.
void WriteReplayJson(JsonWriter& j, const ReplayRun& run, int64_t replay_id);
std::string RenderReplayCsv(const ReplayRun& run, int64_t replay_id);

std::string RenderCompareText(const std::vector<CompareRow>& rows);
// {"allocators": [...]} and CSV: one row per allocator, the same columns;
// an allocator that did not run has null (empty) measurements.
std::string RenderCompareJson(const std::vector<CompareRow>& rows);
std::string RenderCompareCsv(const std::vector<CompareRow>& rows);

}  // namespace atr::replay

#endif  // ATR_ANALYSIS_REPORTS_REPLAY_REPORT_H_
