// symbolizer_testdata: a PIE (-O2 -g) whose call sites symbolizer_test
// looks up. Run it and it prints one "site" line per probe (see probe.h):
//   direct       Probe called from atr_testdata::Widget::bar(int)
//   inlined      Probe called from InnerHelper, inlined into MiddleHelper,
//                inlined into atr_testdata::Outer(int): a chain of three
//   lib_inlined  the same pattern inside the shared library (lib.cc)
#include "lib.h"
#include "probe.h"

namespace atr_testdata {

class Widget {
 public:
  int bar(int x);
};

__attribute__((noinline, noclone)) int Widget::bar(int x) {
  int r = Probe("direct", __LINE__);
  g_probe_sink = r + x;
  return r;
}

__attribute__((always_inline)) inline int InnerHelper(int x, int middle_line, int outer_line) {
  return Probe("inlined", __LINE__, middle_line, outer_line) + x;
}

__attribute__((always_inline)) inline int MiddleHelper(int x, int outer_line) {
  return InnerHelper(x * 3, __LINE__, outer_line) + 1;
}

__attribute__((noinline, noclone)) int Outer(int x) {
  int r = MiddleHelper(x, __LINE__);
  g_probe_sink = r;
  return r;
}

}  // namespace atr_testdata

int main(int argc, char**) {
  atr_testdata::Widget widget;
  int sum = widget.bar(argc) + atr_testdata::Outer(argc) + atr_testdata_lib::LibEntry(argc);
  return sum > 0 ? 0 : 1;
}
