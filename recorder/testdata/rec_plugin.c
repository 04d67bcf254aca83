/* A dlopen'ed library that allocates: once from its constructor, and from
 * plugin_alloc. */
#include <stdlib.h>

static void* g_from_ctor;

__attribute__((constructor)) static void plugin_init(void) { g_from_ctor = malloc(1234); }
__attribute__((destructor)) static void plugin_fini(void) { free(g_from_ctor); }

__attribute__((noinline)) void** plugin_alloc(int n) {
  void** v = (void**)calloc((size_t)n, sizeof(void*));
  for (int i = 0; i < n; ++i) v[i] = malloc(4321);
  __asm__ volatile("" : : "r"(v) : "memory");
  return v;
}
