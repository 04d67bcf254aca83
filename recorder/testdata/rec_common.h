/* Helpers shared by the recorder's test programs (plain C, no atr code).
 *
 * Markers: the tests count only events between the program's
 * malloc(kMarkBegin) and malloc(kMarkEnd), so runtime start-up and exit
 * allocations do not disturb exact counts. */
#ifndef ATR_RECORDER_TESTDATA_REC_COMMON_H_
#define ATR_RECORDER_TESTDATA_REC_COMMON_H_

#include <stdlib.h>

#define REC_MARK_BEGIN 777777u
#define REC_MARK_END 888888u

/* Keeps the compiler from eliding an allocation. */
static inline void rec_sink(void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static inline void rec_mark(size_t marker) {
  void* p = malloc(marker);
  rec_sink(p);
  free(p);
}

#endif
