/* Per-event recording cost at a fixed stack depth: malloc(64)+free pairs
 * made ~15 frames deep (plus main and libc's start frames). Prints ns per
 * pair (wall) and CPU ns per pair. argv[1] = pairs, argv[2] = depth. Built
 * -O2 with frame pointers so that ATR_UNWIND=fp walks the same frames as
 * the other unwinders (bench/unwind/run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void* volatile g_sink;

__attribute__((noinline)) static void work(long n) {
  for (long i = 0; i < n; ++i) {
    void* p = malloc(64);
    g_sink = p;
    free(p);
  }
}

__attribute__((noinline)) static void deep(int depth, long n) {
  if (depth == 0) {
    work(n);
  } else {
    deep(depth - 1, n);
  }
  __asm__ volatile("" ::: "memory"); /* not a tail call */
}

static double Ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  int depth = argc > 2 ? atoi(argv[2]) : 13;
  deep(depth, 1000); /* warm-up: first stacks, cached rules */
  double w = Ns(CLOCK_MONOTONIC), c = Ns(CLOCK_PROCESS_CPUTIME_ID);
  deep(depth, n);
  double w2 = Ns(CLOCK_MONOTONIC), c2 = Ns(CLOCK_PROCESS_CPUTIME_ID);
  printf("%.1f %.1f\n", (w2 - w) / (double)n, (c2 - c) / (double)n);
  return 0;
}
