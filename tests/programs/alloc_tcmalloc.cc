// Linked with -ltcmalloc: the standard calls, operator new/delete and
// gperftools' tc_* entry points, each an exact number of times between the
// markers (production_test counts them: LinkedAllocatorTest).
#include <gperftools/tcmalloc.h>
#include <stdio.h>
#include <stdlib.h>

#include <new>

#include "standard_heap_calls.h"

int main() {
  rec_mark(REC_MARK_BEGIN);
  standard_heap_calls();  // see standard_heap_calls.h
  int* n = new int(7);  // new, delete (sized: -fsized-deallocation is on in C++14+)
  rec_sink(n);
  delete n;
  int* arr = new int[10];  // new[], delete[]
  rec_sink(arr);
  delete[] arr;

  void* t = tc_malloc(64);  // malloc
  t = tc_realloc(t, 6400);  // realloc (+ release)
  rec_sink(t);
  tc_free(t);               // free
  void* tz = tc_calloc(3, 30);  // calloc
  rec_sink(tz);
  tc_free_sized(tz, 90);    // free
  void* m = tc_memalign(64, 100);  // memalign
  rec_sink(m);
  tc_cfree(m);              // free
  void* pm = nullptr;
  if (tc_posix_memalign(&pm, 32, 48) != 0) return 1;  // posix_memalign
  tc_free(pm);              // free
  void* nw = tc_new(24);    // new
  rec_sink(nw);
  tc_delete_sized(nw, 24);  // delete sized
  void* na = tc_newarray(40);  // new[]
  rec_sink(na);
  tc_deletearray(na);       // delete[]
  void* nn = tc_new_nothrow(56, std::nothrow);  // new nothrow
  rec_sink(nn);
  tc_delete_nothrow(nn, std::nothrow);  // delete nothrow
  void* al = tc_new_aligned(88, std::align_val_t{64});  // new aligned
  rec_sink(al);
  tc_delete_aligned(al, std::align_val_t{64});  // delete aligned
  rec_mark(REC_MARK_END);
  puts("ok");
  return 0;
}
