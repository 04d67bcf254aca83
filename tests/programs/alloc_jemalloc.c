/* Linked with -ljemalloc: the standard calls and jemalloc's own API, each
 * an exact number of times between the markers (production_test counts
 * them in the trace: LinkedAllocatorTest). */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "standard_heap_calls.h"

int main(void) {
  rec_mark(REC_MARK_BEGIN);
  standard_heap_calls(); /* see standard_heap_calls.h */
  void* a = NULL; /* posix_memalign, aligned_alloc, 2 free */
  if (posix_memalign(&a, 64, 200) != 0) return 1;
  void* b = aligned_alloc(128, 256);
  rec_sink(b);
  free(a);
  free(b);

  void* x = mallocx(300, 0);                /* malloc */
  void* y = mallocx(300, MALLOCX_ZERO);     /* calloc */
  void* z = mallocx(300, MALLOCX_ALIGN(256)); /* memalign */
  rec_sink(x);
  rec_sink(y);
  rec_sink(z);
  if (((unsigned long)z & 255) != 0) return 2;
  x = rallocx(x, 5000, 0); /* realloc (+ release) */
  /* Resizes to what it already holds: always succeeds in place. */
  size_t real = xallocx(y, 300, 0, 0); /* realloc (+ release), same address */
  if (real < 300) return 3;
  if (sallocx(z, 0) < 300 || nallocx(300, 0) < 300) return 4; /* not recorded */
  dallocx(x, 0);        /* free */
  sdallocx(y, 300, 0);  /* free */
  dallocx(z, MALLOCX_ALIGN(256)); /* free */
  rec_mark(REC_MARK_END);
  puts("ok");
  return 0;
}
