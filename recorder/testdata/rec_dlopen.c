/* dlopen(argv[1]), call its plugin_alloc(6), free, dlclose. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  void* h = dlopen(argv[1], RTLD_NOW);
  if (h == NULL) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  void** (*plugin_alloc)(int) = (void** (*)(int))dlsym(h, "plugin_alloc");
  if (plugin_alloc == NULL) return 1;
  void** v = plugin_alloc(6);
  for (int i = 0; i < 6; ++i) free(v[i]);
  free(v);
  if (dlclose(h) != 0) return 1;
  return 0;
}
