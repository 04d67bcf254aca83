/* malloc(64)+free pairs in a loop; prints ns per pair. argv[1] = pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rec_common.h"

__attribute__((noinline)) static void work(long n) {
  for (long i = 0; i < n; ++i) {
    void* p = malloc(64);
    rec_sink(p);
    free(p);
  }
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  struct timespec a, b;
  work(1000);
  clock_gettime(CLOCK_MONOTONIC, &a);
  work(n);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
  printf("%.1f\n", ns / (double)n);
  return 0;
}
