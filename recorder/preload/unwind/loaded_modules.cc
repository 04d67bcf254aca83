// dl_iterate_phdr -> AddModule (see loaded_modules.h).
#include "recorder/preload/unwind/loaded_modules.h"

#include <pthread.h>

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

ObjectRange MainExecutable() {
  ObjectRange exe;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        *static_cast<ObjectRange*>(data) = RangeOf(*info);
        return 1;
      },
      &exe);
  return exe;
}

StackBounds ThisThreadStack() {
  pthread_attr_t attr;
  StackBounds b;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return b;
  void* addr;
  size_t size;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    b.lo = reinterpret_cast<uint64_t>(addr);
    b.hi = b.lo + size;
  }
  pthread_attr_destroy(&attr);
  return b;
}

}  // namespace atr::unwind
