/* fork without exec, and vfork + _exit: each child is its own process.
 * Prints "<fork child pid> <vfork child pid>". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rec_common.h"

static void alloc_n(int n, size_t size, int keep) {
  for (int i = 0; i < n; ++i) {
    void* p = malloc(size);
    rec_sink(p);
    if (!keep) free(p);
  }
}

int main(void) {
  alloc_n(5, 1111, 0);
  pid_t child = fork();
  if (child == 0) {
    alloc_n(7, 2222, 0);
    exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  pid_t vchild = vfork();
  if (vchild == 0) {
    alloc_n(3, 2323, 1);
    _exit(4);
  }
  waitpid(vchild, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 4) return 2;
  alloc_n(2, 3333, 0);
  printf("%d %d\n", (int)child, (int)vchild);
  return 0;
}
