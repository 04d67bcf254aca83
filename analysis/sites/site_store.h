// The `sites` and `site_matches` tables (docs/trace-format.md, "Source
// sites"): a scan's sites stored in a trace, or in a standalone SQLite file
// that can be attached to traces later.
//
//   ATR_ASSIGN_OR_RETURN(StoreSummary s, StoreSites("run.db", scan.sites, info));
//   // s.matched_lines frame lines of the trace now point at a site
//   ATR_ASSIGN_OR_RETURN(std::vector<SourceSite> sites, ReadSites(reader));
//
// Writing replaces any earlier scan in that file (one transaction), so
// re-running `atr sites` after a rebuild is safe. The trace's own tables
// are never modified, only `sites`, `site_matches` and `sites_*` meta keys.
#ifndef ATR_ANALYSIS_SITES_SITE_STORE_H_
#define ATR_ANALYSIS_SITES_SITE_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/sites/source_site.h"
#include "db/trace_reader.h"

namespace atr {

// What a scan was, kept as meta keys beside the sites.
struct ScanInfo {
  std::string database;   // compile_commands.json path -> meta sites_database
  int files = 0;          // -> sites_files
  int files_failed = 0;   // -> sites_files_failed
  double seconds = 0;     // -> sites_scan_seconds
};

struct StoreSummary {
  int64_t sites = 0;
  bool is_trace = false;        // the file is an atr trace (has frames): matches computed
  int64_t frame_lines = 0;      // symbolized frame lines (frames + inline_frames) looked at
  int64_t matched_lines = 0;    // of which match a heap site
  int64_t function_matches = 0; // frame lines inside a function with a stack-frame site
};

// Stores `sites` into `path`: an existing atr trace, an existing sites file,
// or a new sites file (created 0600). Ids are assigned 1..N in order.
absl::StatusOr<StoreSummary> StoreSites(const std::string& path, const std::vector<SourceSite>& sites,
                                        const ScanInfo& info);

// The sites stored in an open trace, ordered by id; empty when the trace has
// never been given any (no table).
absl::StatusOr<std::vector<SourceSite>> ReadSites(const TraceReader& reader);
// The sites of a trace or standalone sites file.
absl::StatusOr<std::vector<SourceSite>> ReadSitesFile(const std::string& path);

}  // namespace atr

#endif  // ATR_ANALYSIS_SITES_SITE_STORE_H_
