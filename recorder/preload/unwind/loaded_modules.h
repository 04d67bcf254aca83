// Module ranges and unwind tables straight from the dynamic loader, for
// users of the table unwinder that do not track modules themselves (tests,
// benchmarks); libatr_preload.so registers modules from its own tracker.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_LOADED_MODULES_H_
#define ATR_RECORDER_PRELOAD_UNWIND_LOADED_MODULES_H_

#include <link.h>

#include <cstdint>

namespace atr::unwind {

struct ObjectRange {
  uint64_t lo = 0, hi = 0;                // span of the PT_LOAD segments; hi 0 if none
  const uint8_t* eh_frame_hdr = nullptr;  // PT_GNU_EH_FRAME, if any
};
ObjectRange RangeOf(const dl_phdr_info& info);

// AddModule() for every object loaded now.
void AddLoadedModules();

// The main executable's range (the first object the loader lists).
ObjectRange MainExecutable();

// The calling thread's stack, [lo, hi); both 0 if unknown.
struct StackBounds {
  uint64_t lo = 0, hi = 0;
};
StackBounds ThisThreadStack();

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_LOADED_MODULES_H_
