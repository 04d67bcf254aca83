// SiteGroups: sums per-stack numbers by allocation site, the unit every
// report ranks by ("which line of my code"). Stacks that differ only in
// their callers share a site; the group remembers its heaviest stack so a
// report can show one full path.
//
//   SiteGroups groups(&views, /*metrics=*/2);
//   groups.Add(stack_id, {calls, bytes});
//   for (const SiteGroup& g : groups.SortedBy(1)) ...
#ifndef ATR_ANALYSIS_REPORTS_SITE_GROUPS_H_
#define ATR_ANALYSIS_REPORTS_SITE_GROUPS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"

namespace atr {

struct SiteGroup {
  std::string site;             // StackView::site_label ("(no stack)" for stack 0)
  int64_t top_stack = 0;        // the stack with the largest first metric
  int64_t stacks = 0;           // distinct stacks in the group
  std::vector<int64_t> sums;    // one per metric
};

class SiteGroups {
 public:
  // labels (optional): source-site annotations from `atr sites`, so a site
  // reads "new Session (48 B) at server.cc:71 in keep_session(int)".
  SiteGroups(StackViews* views, size_t metrics, const SiteLabels* labels = nullptr)
      : views_(views), labels_(labels), metrics_(metrics) {}
  // REQUIRES: values.size() == metrics.
  absl::Status Add(int64_t stack, std::initializer_list<int64_t> values);
  // Descending by sums[metric], then by site name (a stable, total order).
  std::vector<SiteGroup> SortedBy(size_t metric) const;

 private:
  struct Entry {
    SiteGroup group;
    int64_t top_value = -1;
  };
  StackViews* views_;
  const SiteLabels* labels_;
  size_t metrics_;
  absl::flat_hash_map<std::string, Entry> by_site_;
};

}  // namespace atr

#endif  // ATR_ANALYSIS_REPORTS_SITE_GROUPS_H_
