// dl_iterate_phdr -> AddModule (see loaded_modules.h).
#include "recorder/preload/unwind/loaded_modules.h"

#include "recorder/preload/unwind/table_unwinder.h"

namespace atr::unwind {

ObjectRange RangeOf(const dl_phdr_info& info) {
  ObjectRange r;
  r.lo = UINT64_MAX;
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    uint64_t a = info.dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD) {
      if (a < r.lo) r.lo = a;
      if (a + ph.p_memsz > r.hi) r.hi = a + ph.p_memsz;
    }
    if (ph.p_type == PT_GNU_EH_FRAME) r.eh_frame_hdr = reinterpret_cast<const uint8_t*>(a);
  }
  if (r.hi == 0) r.lo = 0;
  return r;
}

void AddLoadedModules() {
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) {
        ObjectRange r = RangeOf(*info);
        if (r.hi != 0) AddModule(r.lo, r.hi, r.eh_frame_hdr);
        return 0;
      },
      nullptr);
}

}  // namespace atr::unwind
