// `atr whatif` and `atr frag --verify`: counterfactual replays. The trace
// is replayed through the built-in model twice, as recorded (the baseline)
// and with one change, and the two peaks of modelled resident memory and
// their fragmentation are compared. So an explanation is tested, not only
// estimated: if segregating a site's objects in a heap of their own saves
// resident bytes, that site pinned them.
//
// Changes (WhatIfChange):
//   segregate SITE  the site's allocations go to a second heap (same
//                   configuration); resident = the sum of both heaps
//   drop SITE       the site's allocations, and their frees, are not replayed
//   config K=V...   the same trace under another configuration
//
// A SITE names an allocation site (analysis/model/stack_view.h: the
// innermost frame outside the allocator, the C/C++ runtime and atr) by its
// function: the name as demangled ("(anonymous namespace)::keep_session(int)"),
// without its parameter list, or its last component ("keep_session"), or
// the whole label the reports print. Every allocation stack whose site
// matches is routed (replayer/builtin_replay.h).
//
//   WhatIfOptions o;
//   o.change = {.kind = WhatIfChange::Kind::kSegregate, .site = "keep_session", .config = {}};
//   ATR_ASSIGN_OR_RETURN(WhatIfReport r, RunWhatIf("run.db", o));
//   r.counterfactual.peak_resident - r.baseline.peak_resident;  // < 0: it helped
#ifndef ATR_ANALYSIS_REPORTS_WHATIF_REPORT_H_
#define ATR_ANALYSIS_REPORTS_WHATIF_REPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "analysis/reports/frag_report.h"
#include "base/progress_line.h"
#include "base/report_table.h"
#include "db/trace_reader.h"
#include "replayer/replay_result.h"

namespace atr {

struct WhatIfChange {
  enum class Kind { kSegregate, kDrop, kConfig };
  Kind kind = Kind::kSegregate;
  std::string site;                 // kSegregate, kDrop
  std::vector<std::string> config;  // kConfig: key=value items
  // "segregate keep_session", "drop load_config", "config page_size=4096"
  // (stored as replays.counterfactual).
  std::string Describe() const;
};

struct WhatIfOptions {
  WhatIfChange change;
  std::vector<std::string> base_config;  // baseline configuration (key=value; default: defaults)
  std::optional<int32_t> pid;            // default: the first process
  bool store = true;                     // store the counterfactual replay in the trace
  PhaseProgress progress{};              // per replay: (label, seq done, last seq of the trace)
};

// One side of the comparison, at its peak of modelled resident bytes.
struct WhatIfSide {
  std::string config;             // SerializeConfig
  int64_t peak_resident = 0;
  int64_t peak_live = 0;
  int64_t live_at_peak_resident = 0;
  int64_t final_resident = 0;
  double fragmentation = 0;       // 1 - live / resident at the resident peak
  FragBreakdown breakdown;        // the sample with the most resident bytes
  int64_t fragmentation_bytes() const { return peak_resident - live_at_peak_resident; }
};

struct WhatIfReport {
  std::string trace;
  WhatIfChange change;
  int32_t pid = 0;
  std::vector<std::string> matched_sites;  // labels of the sites SITE matched
  int64_t matched_stacks = 0;
  int64_t replay_id = 0;                   // the stored counterfactual; 0 = not stored
  WhatIfSide baseline, counterfactual;
};

// The allocation stacks (events.stack of acquisitions; 0 = not recorded)
// whose site matches `site` as described above, and the matched sites'
// labels. An empty result is not an error here; RunWhatIf makes it one.
struct SiteStacks {
  absl::flat_hash_set<int64_t> stacks;
  std::vector<std::string> labels;  // sorted, distinct
};
absl::StatusOr<SiteStacks> FindSiteStacks(TraceReader& reader, const std::string& site);

// Runs the baseline and the counterfactual replay (storing the latter with
// replays.counterfactual = change.Describe() unless !store). Errors: bad
// configuration, unreadable trace, or a SITE that matches no site (NotFound,
// one line naming it).
absl::StatusOr<WhatIfReport> RunWhatIf(const std::string& trace_path, const WhatIfOptions& o);

// metric | baseline | counterfactual | change | change_percent, one row per
// measure (names in docs/queries.md).
ReportTable WhatIfTable(const WhatIfReport& r);
std::string RenderWhatIfText(const WhatIfReport& r);
std::string RenderWhatIfJson(const WhatIfReport& r);

// `atr frag --verify K`: one leave-one-out segregation replay for each of
// the first K pinning sites of `frag` (at most those it lists), with the
// configuration, process and --until of the replay it explains, ranked by
// bytes of peak resident memory saved; fills frag->verified.
// REQUIRES: frag was computed from trace_path. Errors: the explained replay
// is itself a counterfactual, or is not a built-in one.
absl::Status VerifyPinningSites(const std::string& trace_path, int64_t k,
                                const PhaseProgress& progress, FragReport* frag);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_WHATIF_REPORT_H_
