// rec_phases: a long recording in phases, for the spool-reclaiming tests
// (tests/e2e/record_test.cc).
//
//   rec_phases PHASES PAIRS BOUND_BYTES [KILL_AFTER]
//
// Each phase makes PAIRS malloc(777)/free pairs (2 * PAIRS events, ~64
// bytes of spool per pair). After each phase it polls its own spool file
// (ATR_SPOOL_DIR/<pid>.0.spool) until the disk blocks the file holds
// (st_blocks) fall below BOUND_BYTES, i.e. the collector committed the
// phase and freed it; it exits 3 if that does not happen within a generous
// bound (120 s), and prints the largest file size and the allocated size
// seen. With KILL_AFTER = K > 0, after phase K it SIGKILLs its parent (the
// `atr record` collector) and runs the remaining phases without waiting.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int WaitForReclaim(const char* path, long long bound) {
  struct stat st;
  for (int i = 0; i < 12000; ++i) {  // 12000 x 10 ms
    if (stat(path, &st) == 0 && (long long)st.st_blocks * 512 < bound) return 0;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: rec_phases PHASES PAIRS BOUND_BYTES [KILL_AFTER]\n");
    return 2;
  }
  int phases = atoi(argv[1]);
  long pairs = atol(argv[2]);
  long long bound = atoll(argv[3]);
  int kill_after = argc > 4 ? atoi(argv[4]) : 0;
  const char* dir = getenv("ATR_SPOOL_DIR");
  if (dir == NULL) {
    fprintf(stderr, "rec_phases: ATR_SPOOL_DIR is not set\n");
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%d.0.spool", dir, (int)getpid());
  long long max_size = 0, max_allocated_after_wait = 0;
  int waiting = 1;
  for (int p = 1; p <= phases; ++p) {
    for (long i = 0; i < pairs; ++i) {
      void* volatile q = malloc(777);
      free(q);
    }
    if (!waiting) continue;
    if (WaitForReclaim(path, bound) != 0) {
      fprintf(stderr, "rec_phases: %s still holds more than %lld bytes after phase %d\n", path,
              bound, p);
      return 3;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
      if (st.st_size > max_size) max_size = st.st_size;
      if (st.st_blocks * 512 > max_allocated_after_wait) max_allocated_after_wait = st.st_blocks * 512;
    }
    if (p == kill_after) {
      kill(getppid(), SIGKILL);
      waiting = 0;
    }
  }
  printf("size %lld allocated %lld\n", max_size, max_allocated_after_wait);
  return 0;
}
