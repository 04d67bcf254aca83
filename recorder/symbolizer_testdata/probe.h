// Probe(): the testdata's ground truth for symbolizer_test.
//
// Each call prints one tab-separated line describing its own return
// address the way the recorder would see it:
//   site <name> <module path> <load bias> <rel_pc> <line>...
// rel_pc = return address - load bias (an ELF virtual address of the
// module); the lines are the expected source lines, innermost first, as
// the callers pass __LINE__ on the line of each call.
//
// Included by the executable and by the shared library: each gets its own
// copy, so the return address is always in the module under test.
#ifndef ATR_RECORDER_SYMBOLIZER_TESTDATA_PROBE_H_
#define ATR_RECORDER_SYMBOLIZER_TESTDATA_PROBE_H_

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>

// Callers store Probe's result here after the call, so the call is never a
// tail call (a jump has no return address in the caller).
static volatile int g_probe_sink;

__attribute__((noinline, noclone)) static int Probe(const char* site, int line0, int line1 = 0,
                                                    int line2 = 0) {
  void* return_address = __builtin_return_address(0);
  Dl_info info;
  link_map* map = nullptr;
  if (dladdr1(return_address, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0 ||
      map == nullptr) {
    std::fprintf(stderr, "probe %s: dladdr1 failed\n", site);
    return -1;
  }
  const char* module = map->l_name;
  char exe[PATH_MAX];
  if (module[0] == '\0') {  // the main executable has no name in the link map
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    module = exe;
  }
  std::printf("site\t%s\t%s\t0x%jx\t0x%jx\t%d\t%d\t%d\n", site, module,
              static_cast<uintmax_t>(map->l_addr),
              static_cast<uintmax_t>(reinterpret_cast<uintptr_t>(return_address) - map->l_addr),
              line0, line1, line2);
  return 1;
}

#endif  // ATR_RECORDER_SYMBOLIZER_TESTDATA_PROBE_H_
