// Calls every interposed allocation function and operator new/delete form
// an exact, known number of times between the two markers (see
// recorder/preload_test.cc, FormsAreCountedExactly, for the expectations).
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <new>

#include "rec_common.h"

int main() {
  rec_mark(REC_MARK_BEGIN);
  // C family.
  for (int i = 0; i < 3; ++i) {
    void* p = malloc(100);
    rec_sink(p);
    free(p);
  }
  for (int i = 0; i < 2; ++i) {
    void* p = calloc(7, 9);
    rec_sink(p);
    free(p);
  }
  void* volatile null_block = nullptr;  // keeps realloc(NULL) from becoming malloc
  void* r = realloc(null_block, 50);    // acquisition only
  r = realloc(r, 5000);             // release + acquisition
  rec_sink(r);
  free(r);
  void* q = reallocarray(null_block, 3, 8);
  q = reallocarray(q, 100, 8);
  rec_sink(q);
  free(q);
  void* x = malloc(16);
  void* y = reallocarray(x, SIZE_MAX, 2);  // overflow: fails, x stays live
  rec_sink(y);
  free(x);
  void* a = nullptr;
  for (int i = 0; i < 2; ++i) {
    if (posix_memalign(&a, 64, 200) != 0) return 1;
    free(a);
  }
  if (posix_memalign(&a, 3, 10) != EINVAL) return 2;  // recorded as failed
  void* blocks[4] = {aligned_alloc(128, 256), memalign(256, 300), valloc(1000), pvalloc(1000)};
  for (void* b : blocks) free(b);
  void* huge = malloc(SIZE_MAX - 4096);  // fails
  rec_sink(huge);
  free(nullptr);  // not recorded

  // operator new/delete, each form twice.
  for (int i = 0; i < 2; ++i) {
    void* p;
    p = ::operator new(24); rec_sink(p); ::operator delete(p);
    p = ::operator new[](40); rec_sink(p); ::operator delete[](p);
    p = ::operator new(56, std::nothrow); rec_sink(p); ::operator delete(p, std::nothrow);
    p = ::operator new[](72, std::nothrow); rec_sink(p); ::operator delete[](p, std::nothrow);
    p = ::operator new(88, std::align_val_t{64}); rec_sink(p);
    ::operator delete(p, std::align_val_t{64});
    p = ::operator new[](104, std::align_val_t{128}); rec_sink(p);
    ::operator delete[](p, std::align_val_t{128});
    p = ::operator new(120, std::align_val_t{256}, std::nothrow); rec_sink(p);
    ::operator delete(p, std::align_val_t{256}, std::nothrow);
    p = ::operator new[](136, std::align_val_t{512}, std::nothrow); rec_sink(p);
    ::operator delete[](p, std::align_val_t{512}, std::nothrow);
    p = ::operator new(152); rec_sink(p); ::operator delete(p, 152);
    p = ::operator new[](168); rec_sink(p); ::operator delete[](p, 168);
    p = ::operator new(184, std::align_val_t{64}); rec_sink(p);
    ::operator delete(p, 184, std::align_val_t{64});
    p = ::operator new[](200, std::align_val_t{64}); rec_sink(p);
    ::operator delete[](p, 200, std::align_val_t{64});
  }
  void* none = ::operator new(SIZE_MAX - 4096, std::nothrow);  // fails: nullptr
  rec_sink(none);
  // A throwing failure: one more kNew with addr 0, plus the exception
  // object's own malloc/free inside libstdc++.
  bool threw = false;
  try {
    void* t = ::operator new(SIZE_MAX - 4096);
    rec_sink(t);
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  rec_mark(REC_MARK_END);
  return threw ? 0 : 3;
}
