// Recursion-heavy workload for the --stack-ops cost (bench/stack_ops.sh):
// fib(n) the naive way, 2*fib(n+1)-1 calls, each one instrumented when
// built with -finstrument-functions. Prints calls and the loop's own time,
// so process start-up (and the recorder's setup) is not counted: the
// thread's CPU time (ns_per_call; what the calls cost, not the time the
// thread waited for a core on a loaded machine) and wall time
// (wall_ns_per_call).
//   stack_ops_fib [n=30] [reps=3]
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((no_instrument_function)) static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 30;
  int reps = argc > 2 ? atoi(argv[2]) : 3;
  long long best = -1, best_wall = -1;
  long r = 0;
  for (int i = 0; i < reps; ++i) {
    long long w0 = now_ns(CLOCK_MONOTONIC);
    long long t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    r += fib(n);
    long long t = now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
    long long w = now_ns(CLOCK_MONOTONIC) - w0;
    if (best < 0 || t < best) best = t;
    if (best_wall < 0 || w < best_wall) best_wall = w;
  }
  long long calls = 1, a = 1, b = 1;  // calls(n) = 2*fib(n+1) - 1
  for (int i = 2; i <= n + 1; ++i) { long long c = a + b; a = b; b = c; }
  calls = 2 * a - 1;
  printf("calls=%lld best_ns=%lld ns_per_call=%.2f wall_ns_per_call=%.2f result=%ld\n", calls,
         best, (double)best / (double)calls, (double)best_wall / (double)calls, r);
  return 0;
}
