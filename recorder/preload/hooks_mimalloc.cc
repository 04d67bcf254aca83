// mimalloc's common entry points (mimalloc.h), each recorded as the nearest
// standard op: zeroing forms (mi_zalloc*, mi_calloc*) as calloc or, when
// aligned, memalign; mi_mallocn/mi_strdup/mi_strndup as malloc; the
// realloc kin as realloc (count forms as reallocarray); a successful
// mi_expand as a realloc that kept its address; every mi_free* as free.
// mi_new* are recorded as malloc / memalign, not as operator new: their
// blocks are released with mi_free (mi_stl_allocator does), and recording
// them as new would report a mismatched release for every one.
#include <string.h>

#include <cstddef>

#include "recorder/preload/heap_hooks.h"

using atr::Op;
using namespace atr::preload;  // NOLINT: the hooks below are C symbols

ATR_EXPORT void* mi_malloc(size_t n) noexcept {
  return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(mi_malloc)(n); });
}
ATR_EXPORT void* mi_malloc_small(size_t n) noexcept {
  return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(mi_malloc_small)(n); });
}
ATR_EXPORT void* mi_zalloc(size_t n) noexcept {
  return Acquire(Op::kCalloc, n, 1, [&] { return ATR_NEXT(mi_zalloc)(n); });
}
ATR_EXPORT void* mi_zalloc_small(size_t n) noexcept {
  return Acquire(Op::kCalloc, n, 1, [&] { return ATR_NEXT(mi_zalloc_small)(n); });
}
ATR_EXPORT void* mi_calloc(size_t count, size_t size) noexcept {
  return Acquire(Op::kCalloc, ProductOrMax(count, size), count,
                 [&] { return ATR_NEXT(mi_calloc)(count, size); });
}
ATR_EXPORT void* mi_mallocn(size_t count, size_t size) noexcept {
  return Acquire(Op::kMalloc, ProductOrMax(count, size), 0,
                 [&] { return ATR_NEXT(mi_mallocn)(count, size); });
}
ATR_EXPORT char* mi_strdup(const char* s) noexcept {
  uint64_t size = s != nullptr ? strlen(s) + 1 : 0;
  return Acquire(Op::kMalloc, size, 0, [&] { return ATR_NEXT(mi_strdup)(s); });
}
ATR_EXPORT char* mi_strndup(const char* s, size_t n) noexcept {
  uint64_t size = s != nullptr ? strnlen(s, n) + 1 : 0;
  return Acquire(Op::kMalloc, size, 0, [&] { return ATR_NEXT(mi_strndup)(s, n); });
}

ATR_EXPORT void* mi_realloc(void* p, size_t n) noexcept {
  return Reallocate(Op::kRealloc, p, n, [&] { return ATR_NEXT(mi_realloc)(p, n); });
}
ATR_EXPORT void* mi_reallocf(void* p, size_t n) noexcept {
  void* q = Reallocate(Op::kRealloc, p, n, [&] { return ATR_NEXT(mi_reallocf)(p, n); });
  if (q == nullptr && p != nullptr && !InBootPool(p)) {
    // Failed: unlike realloc, the old block was freed.
    HookScope s;
    s.Record(Op::kFree, Addr(p), 0, 0, /*release=*/true);
  }
  return q;
}
ATR_EXPORT void* mi_rezalloc(void* p, size_t n) noexcept {
  return Reallocate(Op::kRealloc, p, n, [&] { return ATR_NEXT(mi_rezalloc)(p, n); });
}
ATR_EXPORT void* mi_reallocn(void* p, size_t count, size_t size) noexcept {
  return Reallocate(Op::kReallocArray, p, ProductOrMax(count, size),
                    [&] { return ATR_NEXT(mi_reallocn)(p, count, size); });
}
ATR_EXPORT void* mi_reallocarray(void* p, size_t count, size_t size) noexcept {
  return Reallocate(Op::kReallocArray, p, ProductOrMax(count, size),
                    [&] { return ATR_NEXT(mi_reallocarray)(p, count, size); });
}
ATR_EXPORT void* mi_recalloc(void* p, size_t count, size_t size) noexcept {
  return Reallocate(Op::kReallocArray, p, ProductOrMax(count, size),
                    [&] { return ATR_NEXT(mi_recalloc)(p, count, size); });
}
ATR_EXPORT void* mi_expand(void* p, size_t n) noexcept {
  return ResizeInPlace(
      p, [&] { return ATR_NEXT(mi_expand)(p, n); },
      [&](void* r, uint64_t* recorded) {
        *recorded = n;
        return r != nullptr;
      });
}

ATR_EXPORT void* mi_malloc_aligned(size_t n, size_t align) noexcept {
  return Acquire(Op::kMemalign, n, align, [&] { return ATR_NEXT(mi_malloc_aligned)(n, align); });
}
ATR_EXPORT void* mi_zalloc_aligned(size_t n, size_t align) noexcept {
  return Acquire(Op::kMemalign, n, align, [&] { return ATR_NEXT(mi_zalloc_aligned)(n, align); });
}
ATR_EXPORT void* mi_calloc_aligned(size_t count, size_t size, size_t align) noexcept {
  return Acquire(Op::kMemalign, ProductOrMax(count, size), align,
                 [&] { return ATR_NEXT(mi_calloc_aligned)(count, size, align); });
}
ATR_EXPORT void* mi_realloc_aligned(void* p, size_t n, size_t align) noexcept {
  return Reallocate(Op::kRealloc, p, n,
                    [&] { return ATR_NEXT(mi_realloc_aligned)(p, n, align); });
}
ATR_EXPORT int mi_posix_memalign(void** out, size_t align, size_t size) noexcept {
  return AcquireInto(Op::kPosixMemalign, out, size, align,
                     [&] { return ATR_NEXT(mi_posix_memalign)(out, align, size); });
}
ATR_EXPORT void* mi_memalign(size_t align, size_t size) noexcept {
  return Acquire(Op::kMemalign, size, align, [&] { return ATR_NEXT(mi_memalign)(align, size); });
}
ATR_EXPORT void* mi_aligned_alloc(size_t align, size_t size) noexcept {
  return Acquire(Op::kAlignedAlloc, size, align,
                 [&] { return ATR_NEXT(mi_aligned_alloc)(align, size); });
}
ATR_EXPORT void* mi_valloc(size_t size) noexcept {
  return Acquire(Op::kValloc, size, 0, [&] { return ATR_NEXT(mi_valloc)(size); });
}
ATR_EXPORT void* mi_pvalloc(size_t size) noexcept {
  return Acquire(Op::kPvalloc, size, 0, [&] { return ATR_NEXT(mi_pvalloc)(size); });
}

// mi_new, mi_new_n and mi_new_aligned call the nothrow entry points and
// throw std::bad_alloc here (next_functions.h).
ATR_EXPORT void* mi_new(size_t n) {
  return New(Op::kMalloc, n, 0, /*nothrow=*/false, [&] { return ATR_NEXT(mi_new_nothrow)(n); });
}
ATR_EXPORT void* mi_new_n(size_t count, size_t size) {
  uint64_t total = ProductOrMax(count, size);
  return New(Op::kMalloc, total, 0, /*nothrow=*/false, [&]() -> void* {
    return total == UINT64_MAX ? nullptr : ATR_NEXT(mi_new_nothrow)(total);
  });
}
ATR_EXPORT void* mi_new_aligned(size_t n, size_t align) {
  return New(Op::kMemalign, n, align, /*nothrow=*/false,
             [&] { return ATR_NEXT(mi_new_aligned_nothrow)(n, align); });
}
ATR_EXPORT void* mi_new_nothrow(size_t n) noexcept {
  return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(mi_new_nothrow)(n); });
}
ATR_EXPORT void* mi_new_aligned_nothrow(size_t n, size_t align) noexcept {
  return Acquire(Op::kMemalign, n, align,
                 [&] { return ATR_NEXT(mi_new_aligned_nothrow)(n, align); });
}

ATR_EXPORT void mi_free(void* p) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(mi_free)(p); });
}
ATR_EXPORT void mi_cfree(void* p) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(mi_cfree)(p); });
}
ATR_EXPORT void mi_free_size(void* p, size_t n) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(mi_free_size)(p, n); });
}
ATR_EXPORT void mi_free_aligned(void* p, size_t align) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(mi_free_aligned)(p, align); });
}
ATR_EXPORT void mi_free_size_aligned(void* p, size_t n, size_t align) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(mi_free_size_aligned)(p, n, align); });
}
