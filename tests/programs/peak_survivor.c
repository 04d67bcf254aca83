// Culprits known by construction, for the explain tests (explain_test.cc):
//   - cache_insert: 256-byte entries allocated in the last stretch before
//     the peak, interleaved with 64-byte temporaries from scratch_parse that
//     die at once; the entries stay live past the peak (freed at the end),
//     so cache_insert is the peak survivor and scratch_parse is not one;
//   - remember_client: a 512-byte leak every 50 requests of the loop, the
//     program's only leak (the C++ runtime the preload loads keeps a
//     72 KiB emergency pool, which ranks below it).
#include <stdlib.h>
#include <string.h>

enum { kWarmup = 20000, kEntries = 20000, kLeakEvery = 50 };

static void* volatile g_sink;

__attribute__((noinline)) static void scratch_parse(int i) {
  char* p = malloc(64);
  memset(p, i, 64);
  g_sink = p;
  free(p);
}

__attribute__((noinline)) static void* cache_insert(int i) {
  char* p = malloc(256);
  memset(p, i, 256);
  return p;
}

__attribute__((noinline)) static void remember_client(int i) {
  char* p = malloc(512);  // never freed: the leak in the loop
  memset(p, i, 512);
  g_sink = p;
}

int main(void) {
  static void* cache[kEntries];
  for (int i = 0; i < kWarmup; ++i) scratch_parse(i);
  for (int i = 0; i < kEntries; ++i) {
    cache[i] = cache_insert(i);
    scratch_parse(i);
    if (i % kLeakEvery == 0) remember_client(i);
  }
  // The peak is here: every entry is live. Then the cache is dropped.
  for (int i = 0; i < kEntries; ++i) free(cache[i]);
  return 0;
}
