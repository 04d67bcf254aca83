/* A program with a real double free, for `atr check`: glibc detects it and
 * aborts the process (SIGABRT); the trace still holds both frees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) char* make_name(const char* s) {
  char* p = malloc(64);
  strcpy(p, s);
  return p;
}

__attribute__((noinline)) void drop_name(char* p) { free(p); }

int main(void) {
  char* a = make_name("first");
  char* b = make_name("second");
  drop_name(a);
  drop_name(b);
  fputs("freeing a again\n", stderr); /* unbuffered: allocates nothing, so */
  fflush(stderr);                      /* no block can take a's place first */
  drop_name(a); /* glibc: "free(): double free detected in tcache 2" */
  return 0;
}
