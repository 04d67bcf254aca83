// The C allocation family, forwarded to the next definition in the
// program's lookup order (glibc's malloc, or the allocator the program
// links or preloads: next_functions.h).
#include <malloc.h>
#include <stdlib.h>

#include "recorder/preload/heap_hooks.h"

using atr::Op;
using namespace atr::preload;  // NOLINT: the hooks below are C symbols

ATR_EXPORT void* malloc(size_t n) noexcept {
  return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(malloc)(n); });
}

ATR_EXPORT void* calloc(size_t nmemb, size_t size) noexcept {
  return Acquire(Op::kCalloc, ProductOrMax(nmemb, size), nmemb,
                 [&] { return ATR_NEXT(calloc)(nmemb, size); });
}

ATR_EXPORT void* realloc(void* old, size_t n) noexcept {
  return Reallocate(Op::kRealloc, old, n, [&] { return ATR_NEXT(realloc)(old, n); });
}

ATR_EXPORT void* reallocarray(void* old, size_t nmemb, size_t size) noexcept {
  return Reallocate(Op::kReallocArray, old, ProductOrMax(nmemb, size),
                    [&] { return ATR_NEXT(reallocarray)(old, nmemb, size); });
}

ATR_EXPORT void free(void* p) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(free)(p); });
}

ATR_EXPORT int posix_memalign(void** out, size_t align, size_t size) noexcept {
  return AcquireInto(Op::kPosixMemalign, out, size, align,
                     [&] { return ATR_NEXT(posix_memalign)(out, align, size); });
}

ATR_EXPORT void* aligned_alloc(size_t align, size_t size) noexcept {
  return Acquire(Op::kAlignedAlloc, size, align,
                 [&] { return ATR_NEXT(aligned_alloc)(align, size); });
}

ATR_EXPORT void* memalign(size_t align, size_t size) noexcept {
  return Acquire(Op::kMemalign, size, align, [&] { return ATR_NEXT(memalign)(align, size); });
}

ATR_EXPORT void* valloc(size_t size) noexcept {
  return Acquire(Op::kValloc, size, 0, [&] { return ATR_NEXT(valloc)(size); });
}

ATR_EXPORT void* pvalloc(size_t size) noexcept {
  return Acquire(Op::kPvalloc, size, 0, [&] { return ATR_NEXT(pvalloc)(size); });
}
