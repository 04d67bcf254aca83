/* The standard C heap calls every alloc_<allocator> test program makes
 * first, whatever allocator serves them: 3 malloc + 3 free, then calloc,
 * realloc (a release and an acquisition) and free. */
#ifndef ATR_TESTS_PROGRAMS_STANDARD_HEAP_CALLS_H_
#define ATR_TESTS_PROGRAMS_STANDARD_HEAP_CALLS_H_

#include <stdlib.h>

#include "../../recorder/testdata/rec_common.h"

static inline void standard_heap_calls(void) {
  for (int i = 0; i < 3; ++i) {
    void* p = malloc(100 + i);
    rec_sink(p);
    free(p);
  }
  void* c = calloc(4, 25);
  c = realloc(c, 4000);
  rec_sink(c);
  free(c);
}

#endif
