#include "recorder/collector/module_map.h"

#include <algorithm>

namespace atr {

void ModuleMap::Load(const LoadedModule& m) {
  std::erase_if(modules_, [&](const LoadedModule& o) { return o.lo < m.hi && m.lo < o.hi; });
  auto it = std::lower_bound(modules_.begin(), modules_.end(), m.lo,
                             [](const LoadedModule& o, uint64_t lo) { return o.lo < lo; });
  modules_.insert(it, m);
}

int64_t ModuleMap::Unload(uint64_t lo) {
  auto it = std::lower_bound(modules_.begin(), modules_.end(), lo,
                             [](const LoadedModule& o, uint64_t v) { return o.lo < v; });
  if (it == modules_.end() || it->lo != lo) return 0;
  int64_t id = it->id;
  modules_.erase(it);
  return id;
}

ResolvedPc ModuleMap::Resolve(uint64_t pc) const {
  // First module starting after pc; the candidate is the one before it.
  auto it = std::upper_bound(modules_.begin(), modules_.end(), pc,
                             [](uint64_t v, const LoadedModule& o) { return v < o.lo; });
  if (it != modules_.begin()) {
    --it;
    if (pc < it->hi) return {it->id, pc - it->bias};
  }
  return {0, pc};
}

}  // namespace atr
