/* posix_spawn of argv[1] with an explicit environment lacking LD_PRELOAD,
 * and system("exit 3"). Prints the spawned child's pid. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  pid_t pid;
  char* child_argv[] = {argv[1], (char*)"child", NULL};
  char* env[] = {(char*)"FOO=bar", NULL};
  if (posix_spawn(&pid, argv[1], NULL, NULL, child_argv, env) != 0) return 1;
  int status;
  waitpid(pid, &status, 0);
  int rc = system("exit 3");
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 3) return 1;
  printf("%d\n", (int)pid);
  return 0;
}
