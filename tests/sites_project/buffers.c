#include <stdint.h>
#include <stdlib.h>

struct Buf {  /* 40 bytes */
  int64_t len;
  char data[32];
};

struct Entry {  /* 16 bytes */
  int64_t key;
  int64_t value;
};

__attribute__((noinline)) struct Buf* new_buf(void) {
  struct Buf* b = malloc(sizeof(struct Buf));  /* SITE: malloc Buf */
  b->len = 0;
  return b;
}

__attribute__((noinline)) struct Entry* new_table(void) {
  return calloc(16, sizeof(struct Entry));  /* SITE: calloc Entry */
}

__attribute__((noinline)) char* grow_text(char* p) {
  return (char*)realloc(p, 300);  /* SITE: realloc char */
}
