/* Allocates argv[2] blocks of 5555 bytes, then dies: argv[1] = "abort" or
 * "segv" or "kill" (SIGKILL: unflushed buffers may be lost). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_common.h"

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  int n = atoi(argv[2]);
  for (int i = 0; i < n; ++i) {
    void* p = malloc(5555);
    rec_sink(p);
    free(p);
  }
  if (strcmp(argv[1], "abort") == 0) abort();
  if (strcmp(argv[1], "segv") == 0) {
    volatile int* bad = (volatile int*)16;
    *bad = 1;
  }
  if (strcmp(argv[1], "kill") == 0) kill(getpid(), SIGKILL);
  return 3;
}
