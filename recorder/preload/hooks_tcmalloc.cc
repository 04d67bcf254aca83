// gperftools' tc_* entry points (gperftools/tcmalloc.h), each recorded as
// the standard call it stands for: tc_malloc as malloc, tc_new as operator
// new, tc_delete_sized as sized delete, tc_free_sized and tc_cfree as free,
// tc_malloc_skip_new_handler as malloc.
#include <cstddef>
#include <new>

#include "recorder/preload/heap_hooks.h"

using atr::Op;
using namespace atr::preload;  // NOLINT: the hooks below are C symbols

namespace {
inline size_t Align(std::align_val_t a) { return static_cast<size_t>(a); }
}  // namespace

ATR_EXPORT void* tc_malloc(size_t n) noexcept {
  return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(tc_malloc)(n); });
}
ATR_EXPORT void* tc_malloc_skip_new_handler(size_t n) noexcept {
  return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(tc_malloc_skip_new_handler)(n); });
}
ATR_EXPORT void* tc_calloc(size_t nmemb, size_t size) noexcept {
  return Acquire(Op::kCalloc, ProductOrMax(nmemb, size), nmemb,
                 [&] { return ATR_NEXT(tc_calloc)(nmemb, size); });
}
ATR_EXPORT void* tc_realloc(void* old, size_t n) noexcept {
  return Reallocate(Op::kRealloc, old, n, [&] { return ATR_NEXT(tc_realloc)(old, n); });
}
ATR_EXPORT void tc_free(void* p) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(tc_free)(p); });
}
ATR_EXPORT void tc_free_sized(void* p, size_t n) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(tc_free_sized)(p, n); });
}
ATR_EXPORT void tc_cfree(void* p) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(tc_cfree)(p); });
}
ATR_EXPORT void* tc_memalign(size_t align, size_t size) noexcept {
  return Acquire(Op::kMemalign, size, align, [&] { return ATR_NEXT(tc_memalign)(align, size); });
}
ATR_EXPORT int tc_posix_memalign(void** out, size_t align, size_t size) noexcept {
  return AcquireInto(Op::kPosixMemalign, out, size, align,
                     [&] { return ATR_NEXT(tc_posix_memalign)(out, align, size); });
}
ATR_EXPORT void* tc_valloc(size_t size) noexcept {
  return Acquire(Op::kValloc, size, 0, [&] { return ATR_NEXT(tc_valloc)(size); });
}
ATR_EXPORT void* tc_pvalloc(size_t size) noexcept {
  return Acquire(Op::kPvalloc, size, 0, [&] { return ATR_NEXT(tc_pvalloc)(size); });
}

// The operator forms; the throwing ones call the nothrow entry points and
// throw here (next_functions.h).
ATR_EXPORT void* tc_new(size_t n) {
  return New(Op::kNew, n, 0, false, [&] { return ATR_NEXT(tc_new_nothrow)(n, std::nothrow); });
}
ATR_EXPORT void* tc_newarray(size_t n) {
  return New(Op::kNewArray, n, 0, false,
             [&] { return ATR_NEXT(tc_newarray_nothrow)(n, std::nothrow); });
}
ATR_EXPORT void* tc_new_nothrow(size_t n, const std::nothrow_t& t) noexcept {
  return New(Op::kNewNothrow, n, 0, true, [&] { return ATR_NEXT(tc_new_nothrow)(n, t); });
}
ATR_EXPORT void* tc_newarray_nothrow(size_t n, const std::nothrow_t& t) noexcept {
  return New(Op::kNewArrayNothrow, n, 0, true,
             [&] { return ATR_NEXT(tc_newarray_nothrow)(n, t); });
}
ATR_EXPORT void* tc_new_aligned(size_t n, std::align_val_t a) {
  return New(Op::kNewAligned, n, Align(a), false,
             [&] { return ATR_NEXT(tc_new_aligned_nothrow)(n, a, std::nothrow); });
}
ATR_EXPORT void* tc_newarray_aligned(size_t n, std::align_val_t a) {
  return New(Op::kNewArrayAligned, n, Align(a), false,
                 [&] { return ATR_NEXT(tc_newarray_aligned_nothrow)(n, a, std::nothrow); });
}
ATR_EXPORT void* tc_new_aligned_nothrow(size_t n, std::align_val_t a,
                                        const std::nothrow_t& t) noexcept {
  return New(Op::kNewAlignedNothrow, n, Align(a), true,
                 [&] { return ATR_NEXT(tc_new_aligned_nothrow)(n, a, t); });
}
ATR_EXPORT void* tc_newarray_aligned_nothrow(size_t n, std::align_val_t a,
                                             const std::nothrow_t& t) noexcept {
  return New(Op::kNewArrayAlignedNothrow, n, Align(a), true,
                 [&] { return ATR_NEXT(tc_newarray_aligned_nothrow)(n, a, t); });
}
ATR_EXPORT void tc_delete(void* p) noexcept {
  Release(Op::kDelete, p, 0, 0, [&] { ATR_NEXT(tc_delete)(p); });
}
ATR_EXPORT void tc_deletearray(void* p) noexcept {
  Release(Op::kDeleteArray, p, 0, 0, [&] { ATR_NEXT(tc_deletearray)(p); });
}
ATR_EXPORT void tc_delete_sized(void* p, size_t n) noexcept {
  Release(Op::kDeleteSized, p, n, 0, [&] { ATR_NEXT(tc_delete_sized)(p, n); });
}
ATR_EXPORT void tc_deletearray_sized(void* p, size_t n) noexcept {
  Release(Op::kDeleteArraySized, p, n, 0, [&] { ATR_NEXT(tc_deletearray_sized)(p, n); });
}
ATR_EXPORT void tc_delete_nothrow(void* p, const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteNothrow, p, 0, 0, [&] { ATR_NEXT(tc_delete_nothrow)(p, t); });
}
ATR_EXPORT void tc_deletearray_nothrow(void* p, const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteArrayNothrow, p, 0, 0, [&] { ATR_NEXT(tc_deletearray_nothrow)(p, t); });
}
ATR_EXPORT void tc_delete_aligned(void* p, std::align_val_t a) noexcept {
  Release(Op::kDeleteAligned, p, 0, Align(a), [&] { ATR_NEXT(tc_delete_aligned)(p, a); });
}
ATR_EXPORT void tc_deletearray_aligned(void* p, std::align_val_t a) noexcept {
  Release(Op::kDeleteArrayAligned, p, 0, Align(a),
          [&] { ATR_NEXT(tc_deletearray_aligned)(p, a); });
}
ATR_EXPORT void tc_delete_sized_aligned(void* p, size_t n, std::align_val_t a) noexcept {
  Release(Op::kDeleteSizedAligned, p, n, Align(a),
          [&] { ATR_NEXT(tc_delete_sized_aligned)(p, n, a); });
}
ATR_EXPORT void tc_deletearray_sized_aligned(void* p, size_t n, std::align_val_t a) noexcept {
  Release(Op::kDeleteArraySizedAligned, p, n, Align(a),
          [&] { ATR_NEXT(tc_deletearray_sized_aligned)(p, n, a); });
}
ATR_EXPORT void tc_delete_aligned_nothrow(void* p, std::align_val_t a,
                                          const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteAlignedNothrow, p, 0, Align(a),
          [&] { ATR_NEXT(tc_delete_aligned_nothrow)(p, a, t); });
}
ATR_EXPORT void tc_deletearray_aligned_nothrow(void* p, std::align_val_t a,
                                               const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteArrayAlignedNothrow, p, 0, Align(a),
          [&] { ATR_NEXT(tc_deletearray_aligned_nothrow)(p, a, t); });
}
