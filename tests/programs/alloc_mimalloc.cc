// Linked with -lmimalloc: the standard calls, operator new/delete and
// mimalloc's mi_* entry points, each an exact number of times between the
// markers (production_test counts them: LinkedAllocatorTest).
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include "standard_heap_calls.h"

int main() {
  rec_mark(REC_MARK_BEGIN);
  standard_heap_calls();  // see standard_heap_calls.h
  int* n = new int(7);  // new, delete sized
  rec_sink(n);
  delete n;
  int* arr = new int[10];  // new[], delete[]
  rec_sink(arr);
  delete[] arr;

  void* m = mi_malloc(64);  // malloc
  m = mi_realloc(m, 6400);  // realloc (+ release)
  rec_sink(m);
  mi_free(m);               // free
  void* z = mi_zalloc(50);  // calloc
  rec_sink(z);
  mi_free_size(z, 50);      // free
  void* cz = mi_calloc(5, 10);  // calloc
  rec_sink(cz);
  mi_free(cz);              // free
  char* s = mi_strdup("production");  // malloc
  if (strcmp(s, "production") != 0) return 1;
  mi_free(s);               // free
  void* al = mi_malloc_aligned(100, 128);  // memalign
  if (((unsigned long)al & 127) != 0) return 2;
  mi_free_aligned(al, 128);  // free
  void* nw = mi_new(32);     // malloc (mi_new pairs with mi_free)
  rec_sink(nw);
  mi_free(nw);               // free
  void* big = mi_malloc(1000);  // malloc
  // Shrinking in place always succeeds: realloc (+ release), same address.
  if (mi_expand(big, 900) != big) return 3;
  void* n2 = mi_reallocn(big, 10, 300);  // reallocarray (+ release)
  rec_sink(n2);
  mi_free(n2);               // free
  rec_mark(REC_MARK_END);
  puts("ok");
  return 0;
}
