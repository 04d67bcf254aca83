// ModuleMap: which loaded object covers a pc, in one process image.
//
// The collector keeps one per process image, fed by the spool's
// ModuleRecords; a forked child starts from a copy of its parent's map (it
// inherits the address space). Ranges never overlap while loaded; an
// unloaded module is removed, so a pc resolves against what was mapped when
// its stack was recorded (ModuleRecords precede the stacks that use them).
//
//   ModuleMap map;
//   map.Load({.id = 3, .bias = 0x5555'0000'0000, .lo = ..., .hi = ...});
//   ResolvedPc r = map.Resolve(pc);  // r.module_id == 3, r.rel_pc == pc - bias
#ifndef ATR_RECORDER_COLLECTOR_MODULE_MAP_H_
#define ATR_RECORDER_COLLECTOR_MODULE_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace atr {

struct LoadedModule {
  int64_t id = 0;      // modules.id in the trace
  uint64_t bias = 0;   // pc - bias = ELF virtual address
  uint64_t lo = 0;     // [lo, hi): extent in memory
  uint64_t hi = 0;
};

struct ResolvedPc {
  int64_t module_id;  // 0: no module covers the pc
  uint64_t rel_pc;    // ELF virtual address, or the absolute pc if module_id 0
};

class ModuleMap {
 public:
  // Adds a module. A module that overlaps an existing range replaces it
  // (the old one was unmapped without a dlclose we saw, e.g. by exec).
  void Load(const LoadedModule& m);
  // Removes the module whose range starts at lo; returns its id or 0.
  int64_t Unload(uint64_t lo);
  ResolvedPc Resolve(uint64_t pc) const;
  size_t size() const { return modules_.size(); }

 private:
  std::vector<LoadedModule> modules_;  // sorted by lo, non-overlapping
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_MODULE_MAP_H_
