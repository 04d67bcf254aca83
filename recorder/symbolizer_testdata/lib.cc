// The shared-library half of symbolizer_testdata (built -O2 -g, PIC).
#include "lib.h"

#include "probe.h"

namespace atr_testdata_lib {

__attribute__((always_inline)) inline int LibHelper(int x, int caller_line) {
  return Probe("lib_inlined", __LINE__, caller_line) + x;
}

__attribute__((noinline, noclone)) int LibEntry(int x) {
  int r = LibHelper(x, __LINE__);
  g_probe_sink = r;
  return r;
}

}  // namespace atr_testdata_lib
