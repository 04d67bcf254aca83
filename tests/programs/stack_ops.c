// Test program for `atr record --stack-ops` / `atr stack` (built with
// -finstrument-functions). Everything it does is known exactly:
//   main thread:  main -> big_frame (an 8 KiB local array) -> recurse x21
//                 (recurse(20)), then recurse x6 (recurse(5)), then
//                 use_alloca(3000), then a thread:
//   worker:       created with pthread_attr_setstacksize(64 KiB):
//                 worker_main -> thread_recurse x101 (thread_recurse(100)),
//                 each frame holding a 128-byte array.
// Calls: main 1, big_frame 1, recurse 27, use_alloca 1, worker_main 1,
// thread_recurse 101. recurse(0) and thread_recurse(0) each malloc and free
// 100 bytes (so allocation stacks come from the shadow stack).
#include <alloca.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE int recurse(int n) {
  volatile char pad[32];
  pad[0] = (char)n;
  if (n == 0) {
    char* p = malloc(100);
    p[0] = pad[0];
    int r = p[0];
    free(p);
    return r;
  }
  return recurse(n - 1) + pad[0];
}

NOINLINE int big_frame(int x) {
  volatile char buf[8192];
  buf[x] = (char)x;
  buf[8191 - x] = 1;
  return recurse(20) + buf[x] + buf[8191 - x];
}

NOINLINE int use_alloca(int n) {
  char* p = alloca((size_t)n);
  memset(p, 1, (size_t)n);
  return p[n - 1];
}

NOINLINE int thread_recurse(int n) {
  volatile char pad[128];
  pad[0] = (char)n;
  if (n == 0) {
    char* p = malloc(100);
    p[0] = pad[0];
    int r = p[0];
    free(p);
    return r;
  }
  return thread_recurse(n - 1) + pad[0];
}

NOINLINE void* worker_main(void* arg) {
  (void)arg;
  thread_recurse(100);
  return NULL;
}

int main(void) {
  int r = big_frame(1);
  r += recurse(5);
  r += use_alloca(3000);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t t;
  if (pthread_create(&t, &attr, worker_main, NULL) != 0) return 2;
  pthread_join(t, NULL);
  pthread_attr_destroy(&attr);
  printf("%d\n", r);
  return 0;
}
