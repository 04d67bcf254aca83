/* Parent image: 3 x malloc(1212), then execve itself with an EMPTY
 * environment (the preload must re-inject LD_PRELOAD/ATR_SPOOL_DIR); the
 * new image: 4 x malloc(3434). argv[1] = "parent" | "child". */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_common.h"

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    for (int i = 0; i < 4; ++i) {
      void* p = malloc(3434);
      rec_sink(p);
      free(p);
    }
    return 0;
  }
  for (int i = 0; i < 3; ++i) {
    void* p = malloc(1212);
    rec_sink(p);
    free(p);
  }
  char* child_argv[] = {argv[0], (char*)"child", NULL};
  char* empty_env[] = {NULL};
  execve("/proc/self/exe", child_argv, empty_env);
  return 1;
}
