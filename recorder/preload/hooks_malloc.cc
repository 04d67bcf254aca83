// The C allocation family. The real functions are glibc's __libc_* entry
// points, so no dlsym is needed and nothing recurses during startup.
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "recorder/preload/preload.h"

extern "C" {
void* __libc_malloc(size_t) noexcept;
void* __libc_calloc(size_t, size_t) noexcept;
void* __libc_realloc(void*, size_t) noexcept;
void __libc_free(void*) noexcept;
void* __libc_memalign(size_t, size_t) noexcept;
void* __libc_valloc(size_t) noexcept;
void* __libc_pvalloc(size_t) noexcept;
}

using atr::Op;
using atr::preload::EventStamp;
using atr::preload::HookScope;

namespace {

inline uint64_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

inline void* Acquire(Op op, void* p, uint64_t size, uint64_t arg) {
  HookScope s;
  if (ATR_LIKELY(s.active())) s.Record(op, Addr(p), size, arg);
  return p;
}

// realloc and reallocarray: a release numbered before the call, an
// acquisition after it (addr 0 with size > 0: failed, old block still live).
inline void* Reallocate(Op op, void* old, size_t bytes, bool overflow) {
  if (old == nullptr) {
    void* p = overflow ? nullptr : __libc_realloc(nullptr, bytes);
    if (overflow) errno = ENOMEM;
    return Acquire(op, p, overflow ? UINT64_MAX : bytes, 0);
  }
  HookScope s;
  if (!s.active()) {
    if (overflow) {
      errno = ENOMEM;
      return nullptr;
    }
    return __libc_realloc(old, bytes);
  }
  EventStamp release = s.Stamp();
  void* p = nullptr;
  if (overflow) {
    errno = ENOMEM;
  } else {
    p = __libc_realloc(old, bytes);
  }
  EventStamp acquire = s.Stamp();
  uint64_t stack = s.Stack(/*release=*/false);
  s.Emit(Op::kReallocRelease, release, Addr(old), 0, 0, stack);
  s.Emit(op, acquire, Addr(p), overflow ? UINT64_MAX : bytes, Addr(old), stack);
  return p;
}

}  // namespace

ATR_EXPORT void* malloc(size_t n) noexcept { return Acquire(Op::kMalloc, __libc_malloc(n), n, 0); }

ATR_EXPORT void* calloc(size_t nmemb, size_t size) noexcept {
  size_t total;
  uint64_t recorded = __builtin_mul_overflow(nmemb, size, &total) ? UINT64_MAX : total;
  return Acquire(Op::kCalloc, __libc_calloc(nmemb, size), recorded, nmemb);
}

ATR_EXPORT void* realloc(void* old, size_t n) noexcept {
  return Reallocate(Op::kRealloc, old, n, false);
}

ATR_EXPORT void* reallocarray(void* old, size_t nmemb, size_t size) noexcept {
  size_t total = 0;
  bool overflow = __builtin_mul_overflow(nmemb, size, &total);
  return Reallocate(Op::kReallocArray, old, total, overflow);
}

ATR_EXPORT void free(void* p) noexcept {
  if (p == nullptr) return;
  HookScope s;
  if (ATR_LIKELY(s.active())) {
    // Written before the real free: glibc aborts on a double free it
    // detects, and the event that proves it must already be in the buffer
    // the crash handler flushes.
    EventStamp st = s.Stamp();
    s.Emit(Op::kFree, st, Addr(p), 0, 0, s.Stack(/*release=*/true));
    __libc_free(p);
  } else {
    __libc_free(p);
  }
}

ATR_EXPORT int posix_memalign(void** out, size_t align, size_t size) noexcept {
  int rc = 0;
  void* p = nullptr;
  if (align % sizeof(void*) != 0 || (align & (align - 1)) != 0 || align == 0) {
    rc = EINVAL;
  } else {
    int saved = errno;
    p = __libc_memalign(align, size);
    if (p == nullptr) rc = ENOMEM;
    errno = saved;
  }
  if (rc == 0) *out = p;
  Acquire(Op::kPosixMemalign, p, size, align);
  return rc;
}

ATR_EXPORT void* aligned_alloc(size_t align, size_t size) noexcept {
  return Acquire(Op::kAlignedAlloc, __libc_memalign(align, size), size, align);
}

ATR_EXPORT void* memalign(size_t align, size_t size) noexcept {
  return Acquire(Op::kMemalign, __libc_memalign(align, size), size, align);
}

ATR_EXPORT void* valloc(size_t size) noexcept {
  return Acquire(Op::kValloc, __libc_valloc(size), size, 0);
}

ATR_EXPORT void* pvalloc(size_t size) noexcept {
  return Acquire(Op::kPvalloc, __libc_pvalloc(size), size, 0);
}
