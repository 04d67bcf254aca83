// jemalloc's non-standard API, recorded as the nearest standard op
// (docs/recorder.md, "The program's allocator"): mallocx as malloc (as
// memalign with an alignment flag, as calloc with MALLOCX_ZERO), rallocx as
// realloc, a successful xallocx as a realloc that kept its address,
// dallocx/sdallocx as free. sallocx and nallocx only answer sizes.
#include <cstddef>

#include "recorder/preload/heap_hooks.h"

using atr::Op;
using namespace atr::preload;  // NOLINT: the hooks below are C symbols

namespace {

// MALLOCX_LG_ALIGN(la) is la in the low 6 bits; MALLOCX_ZERO is 0x40
// (jemalloc/jemalloc_macros.h).
constexpr int kLgAlignMask = 0x3f;
constexpr int kZero = 0x40;

inline size_t AlignmentOf(int flags) {
  int lg = flags & kLgAlignMask;
  return lg == 0 ? 0 : size_t{1} << lg;
}

}  // namespace

ATR_EXPORT void* mallocx(size_t size, int flags) noexcept {
  size_t align = AlignmentOf(flags);
  Op op = align != 0 ? Op::kMemalign : (flags & kZero) != 0 ? Op::kCalloc : Op::kMalloc;
  uint64_t arg = align != 0 ? align : op == Op::kCalloc ? 1 : 0;
  return Acquire(op, size, arg, [&] { return ATR_NEXT(mallocx)(size, flags); });
}

ATR_EXPORT void* rallocx(void* p, size_t size, int flags) noexcept {
  return Reallocate(Op::kRealloc, p, size, [&] { return ATR_NEXT(rallocx)(p, size, flags); });
}

ATR_EXPORT size_t xallocx(void* p, size_t size, size_t extra, int flags) noexcept {
  return ResizeInPlace(
      p, [&] { return ATR_NEXT(xallocx)(p, size, extra, flags); },
      [&](size_t real, uint64_t* recorded) {
        // At least `size` when it succeeded; the program asked for at most
        // size + extra.
        if (real < size) return false;
        size_t asked = size + extra < size ? SIZE_MAX : size + extra;
        *recorded = real < asked ? real : asked;
        return true;
      });
}

ATR_EXPORT void dallocx(void* p, int flags) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(dallocx)(p, flags); });
}

ATR_EXPORT void sdallocx(void* p, size_t size, int flags) noexcept {
  Release(Op::kFree, p, 0, 0, [&] { ATR_NEXT(sdallocx)(p, size, flags); });
}
