// How a heap hook calls the program's allocator and records the call:
// shared by the C heap hooks, operator new/delete and the allocators' own
// entry points (hooks_malloc.cc, hooks_new.cc, hooks_jemalloc.cc,
// hooks_tcmalloc.cc, hooks_mimalloc.cc).
//
// Every helper holds the hook's HookScope across the real call and runs the
// call in a ForwardingScope, so whatever the allocator calls into hooked
// functions meanwhile is not recorded a second time. Acquisitions take
// their seq after the call returns, releases before it (docs/recorder.md,
// "Ordering"). Blocks of the boot pool are never passed on.
//
//   ATR_EXPORT void* malloc(size_t n) noexcept {
//     return Acquire(Op::kMalloc, n, 0, [&] { return ATR_NEXT(malloc)(n); });
//   }
#ifndef ATR_RECORDER_PRELOAD_HEAP_HOOKS_H_
#define ATR_RECORDER_PRELOAD_HEAP_HOOKS_H_

#include <string.h>

#include <cstdint>
#include <new>

#include "recorder/preload/boot_pool.h"
#include "recorder/preload/next_functions.h"
#include "recorder/preload/preload.h"

namespace atr::preload {

inline uint64_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// n * size, or UINT64_MAX (recorded as the size of a call that overflowed).
inline uint64_t ProductOrMax(size_t n, size_t size) {
  size_t total;
  return __builtin_mul_overflow(n, size, &total) ? UINT64_MAX : total;
}

// An acquisition: `call` returns the block (nullptr: failed, recorded with
// addr 0).
template <typename Call>
__attribute__((always_inline)) inline auto Acquire(Op op, uint64_t size, uint64_t arg,
                                                   Call&& call) {
  HookScope s;
  decltype(call()) p;
  {
    ForwardingScope f;
    p = call();
  }
  if (ATR_LIKELY(s.active())) s.Record(op, Addr(p), size, arg);
  return p;
}

// operator new and its kin: a throwing form (`nothrow` false) whose call
// returned nullptr (OperatorOverMalloc) throws std::bad_alloc here, after
// the hook's scope, so the exception object is recorded as the program's
// allocation; an allocator's own operator that throws is recorded as
// failed (addr 0) and its exception passes on.
template <typename Call>
inline void* New(Op op, size_t n, size_t align, bool nothrow, Call&& call) {
  void* p;
  {
    HookScope s;
    try {
      ForwardingScope f;
      p = call();
    } catch (...) {
      // The allocator's own operator threw (after its new-handler loop).
      if (s.active()) s.Record(op, 0, n, align);
      throw;
    }
    if (ATR_LIKELY(s.active())) s.Record(op, Addr(p), n, align);
  }
  if (ATR_UNLIKELY(p == nullptr) && !nothrow) throw std::bad_alloc();
  return p;
}

// posix_memalign-style: `call` stores the block in *out and returns 0, or
// returns an error number and leaves *out alone.
template <typename Call>
inline int AcquireInto(Op op, void** out, uint64_t size, uint64_t align, Call&& call) {
  HookScope s;
  int rc;
  {
    ForwardingScope f;
    rc = call();
  }
  if (s.active()) s.Record(op, rc == 0 ? Addr(*out) : 0, size, align);
  return rc;
}

// A release, recorded before the real call: glibc aborts on a double free
// it detects, and the event that proves it must already be in the buffer
// the crash handler flushes.
template <typename Call>
__attribute__((always_inline)) inline void Release(Op op, void* p, uint64_t size, uint64_t arg,
                                                   Call&& call) {
  if (p == nullptr || ATR_UNLIKELY(InBootPool(p))) return;
  HookScope s;
  if (ATR_LIKELY(s.active())) {
    EventStamp st = s.Stamp();
    s.Emit(op, st, Addr(p), size, arg, s.Stack(/*release=*/true));
  }
  ForwardingScope f;
  call();
}

// realloc-style: a release numbered before the call and an acquisition
// (`op`, arg = old pointer) after it; addr 0 with size > 0 means it failed
// and the old block is still live. A null `old` is an acquisition only.
template <typename Call>
inline void* Reallocate(Op op, void* old, uint64_t size, Call&& call) {
  if (old == nullptr) return Acquire(op, size, 0, call);
  if (ATR_UNLIKELY(InBootPool(old))) {
    // The loader's block, from before the heap was resolved: moved into
    // the program's allocator (the pool block itself is never freed).
    void* p = Acquire(op, size, 0, [&] { return ATR_NEXT(malloc)(size); });
    if (p != nullptr) {
      size_t was = BootPoolBlockSize(old);
      memcpy(p, old, was < size ? was : size);
    }
    return p;
  }
  HookScope s;
  if (!s.active()) {
    ForwardingScope f;
    return call();
  }
  EventStamp release = s.Stamp();
  void* p;
  {
    ForwardingScope f;
    p = call();
  }
  EventStamp acquire = s.Stamp();
  uint64_t stack = s.Stack(/*release=*/false);
  s.Emit(Op::kReallocRelease, release, Addr(old), 0, 0, stack);
  s.Emit(op, acquire, Addr(p), size, Addr(old), stack);
  return p;
}

// An in-place resize (jemalloc's xallocx, mimalloc's mi_expand): recorded
// as a realloc that kept its address when `resized(result, &size)` says it
// succeeded (size: what the block holds now, as asked for); a failed one
// changes nothing and is not recorded (its seq stays unused).
template <typename Call, typename Resized>
inline auto ResizeInPlace(void* p, Call&& call, Resized&& resized) {
  HookScope s;
  EventStamp release = {};
  if (s.active()) release = s.Stamp();
  decltype(call()) r;
  {
    ForwardingScope f;
    r = call();
  }
  uint64_t size = 0;
  if (s.active() && resized(r, &size)) {
    EventStamp acquire = s.Stamp();
    uint64_t stack = s.Stack(/*release=*/false);
    s.Emit(Op::kReallocRelease, release, Addr(p), 0, 0, stack);
    s.Emit(Op::kRealloc, acquire, Addr(p), size, Addr(p), stack);
  }
  return r;
}

}  // namespace atr::preload

#endif  // ATR_RECORDER_PRELOAD_HEAP_HOOKS_H_
