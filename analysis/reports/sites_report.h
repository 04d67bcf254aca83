// What `atr sites` prints: the scanned sites as a list, a scan's summary,
// and the hot recorded sites that no scanned site explains
// (`atr sites --unmatched`).
//
//   ATR_ASSIGN_OR_RETURN(UnmatchedReport r, ComputeUnmatched(reader, {.limit = 20}));
//   std::fputs(RenderUnmatchedText(r).c_str(), stdout);
#ifndef ATR_ANALYSIS_REPORTS_SITES_REPORT_H_
#define ATR_ANALYSIS_REPORTS_SITES_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/sites/source_site.h"
#include "db/trace_reader.h"

namespace atr {

// One recorded allocation site (the site line of its stacks, StackView).
struct RecordedSite {
  std::string label;         // StackView::site_label: "load_config(int) server.cc:67"
  int64_t allocations = 0;   // over the trace
  int64_t bytes = 0;         // requested
  int64_t stacks = 0;        // distinct stacks with this site
};

struct UnmatchedOptions {
  int64_t limit = 20;  // sites listed; 0 = all
};

struct UnmatchedReport {
  bool has_sites = false;        // the trace has a sites table at all
  int64_t recorded_sites = 0;    // distinct site lines over all allocation stacks
  int64_t matched_sites = 0;     // of which a scanned site explains
  int64_t allocations = 0, matched_allocations = 0;
  int64_t bytes = 0, matched_bytes = 0;
  std::vector<RecordedSite> unmatched;  // biggest bytes first, at most `limit`
  int64_t unmatched_sites = 0;          // all of them
};

// Groups every allocation of the trace by its stack's site line.
absl::StatusOr<UnmatchedReport> ComputeUnmatched(TraceReader& reader, const UnmatchedOptions& options);
std::string RenderUnmatchedText(const UnmatchedReport& r);
std::string RenderUnmatchedJson(const UnmatchedReport& r);
// The unmatched sites alone, one a row (site, allocations, bytes, stacks).
std::string RenderUnmatchedCsv(const UnmatchedReport& r);

// The list of sites: one row each (kind, type, size, loop, location,
// function), or a JSON array of site objects (fields in docs/sites.md), or
// CSV with the JSON's fields as columns.
std::string RenderSitesText(const std::vector<SourceSite>& sites);
std::string RenderSitesJson(const std::vector<SourceSite>& sites);
std::string RenderSitesCsv(const std::vector<SourceSite>& sites);

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_SITES_REPORT_H_
