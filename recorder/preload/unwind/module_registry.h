// The loaded modules' executable ranges and unwind tables, readable without
// locks while one writer (the preload's module tracker) changes them.
//
// Each slot is guarded by a sequence counter (odd while being rewritten);
// readers copy a slot and retry it if the counter moved. Slots are reused
// after a module is removed; the table has room for kMaxModules at once.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_MODULE_REGISTRY_H_
#define ATR_RECORDER_PRELOAD_UNWIND_MODULE_REGISTRY_H_

#include <cstdint>

#include "recorder/preload/unwind/cfi.h"

namespace atr::unwind {

struct ModuleView {
  uint64_t lo = 0, hi = 0;  // executable range
  EhFrameIndex index;       // count 0: no usable .eh_frame_hdr
};

// The module whose executable range holds pc; false if none.
bool FindModule(uint64_t pc, ModuleView* out);

// Writers (one at a time). Return true if the set of modules changed.
bool RegisterModule(uint64_t lo, uint64_t hi, const uint8_t* eh_frame_hdr);
bool UnregisterModule(uint64_t lo, uint64_t hi);

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_MODULE_REGISTRY_H_
