#include "analysis/reports/site_groups.h"

#include <algorithm>

#include "base/status_macros.h"

namespace atr {

absl::Status SiteGroups::Add(int64_t stack, std::initializer_list<int64_t> values) {
  std::string site = "(no stack)";
  if (stack != 0) {
    ATR_ASSIGN_OR_RETURN(const StackView* v, views_->Get(stack));
    site = labels_ ? labels_->Label(*v) : v->site_label;
  }
  Entry& e = by_site_[site];
  if (e.group.sums.empty()) {
    e.group.site = site;
    e.group.sums.assign(metrics_, 0);
  }
  size_t i = 0;
  for (int64_t v : values) e.group.sums[i++] += v;
  ++e.group.stacks;
  int64_t first = *values.begin();
  if (first > e.top_value) {
    e.top_value = first;
    e.group.top_stack = stack;
  }
  return absl::OkStatus();
}

std::vector<SiteGroup> SiteGroups::SortedBy(size_t metric) const {
  std::vector<SiteGroup> out;
  out.reserve(by_site_.size());
  for (const auto& [site, e] : by_site_) out.push_back(e.group);
  std::sort(out.begin(), out.end(), [metric](const SiteGroup& a, const SiteGroup& b) {
    if (a.sums[metric] != b.sums[metric]) return a.sums[metric] > b.sums[metric];
    return a.site < b.site;
  });
  return out;
}

}  // namespace atr
