/* Preloaded by bench/record/run.sh into every run (native, heaptrack, atr):
 * when a process ends, appends "<exe> <CLOCK_REALTIME ns> <user+sys CPU ns>"
 * to the file named by ATR_BENCH_STAMP. The driver takes the target's line as the moment the
 * target program finished, separately from when its tracer finished. Runs
 * from the last ELF destructor and from _exit/_Exit (interposed), so the
 * tracers' own at-exit flushes are included. No libc heap, no stdio. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int stamped;

static void stamp(void) {
  if (stamped) return;
  stamped = 1;
  const char* path = getenv("ATR_BENCH_STAMP");
  if (path == NULL) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char line[4200];
  ssize_t n = readlink("/proc/self/exe", line, 4096);
  if (n < 0) n = 0;
  char* p = line + n;
  *p++ = ' ';
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t values[2] = {
      (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
      ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
          ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull};
  for (int i = 0; i < 2; ++i) {
    char digits[24];
    int d = 0;
    uint64_t v = values[i];
    do {
      digits[d++] = (char)('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (d > 0) *p++ = digits[--d];
    *p++ = i == 0 ? ' ' : '\n';
  }
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t w = write(fd, line, (size_t)(p - line));
  (void)w;
  close(fd);
}

__attribute__((destructor)) static void on_exit_stamp(void) { stamp(); }

void _exit(int status) {
  stamp();
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}
void _Exit(int status) { _exit(status); }
