// Every replaceable global operator new/delete, implemented here on top of
// glibc's __libc_malloc/__libc_memalign/__libc_free. Forwarding to
// libstdc++'s operators would record twice: they call malloc/free through
// the PLT, i.e. our hooks.
#include <cstddef>
#include <new>

#include "recorder/preload/preload.h"

extern "C" {
void* __libc_malloc(size_t) noexcept;
void* __libc_memalign(size_t, size_t) noexcept;
void __libc_free(void*) noexcept;
}

using atr::Op;
using atr::preload::EventStamp;
using atr::preload::HookScope;

#define ATR_OPERATOR __attribute__((visibility("default")))

namespace {

inline uint64_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

inline void RecordNew(Op op, void* p, size_t n, size_t align) {
  HookScope s;
  if (ATR_LIKELY(s.active())) s.Record(op, Addr(p), n, align);
}

// The standard's allocation loop: retry after the new-handler; no handler
// means failure (throw, or nullptr for nothrow forms). The guard is not held
// while the handler runs: it may allocate.
inline void* NewImpl(Op op, size_t n, size_t align, bool nothrow) {
  for (;;) {
    void* p = align != 0 ? __libc_memalign(align, n) : __libc_malloc(n);
    if (ATR_LIKELY(p != nullptr)) {
      RecordNew(op, p, n, align);
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) break;
    try {
      handler();
    } catch (...) {
      RecordNew(op, nullptr, n, align);
      if (nothrow) return nullptr;
      throw;
    }
  }
  RecordNew(op, nullptr, n, align);
  if (nothrow) return nullptr;
  throw std::bad_alloc();
}

inline void DeleteImpl(Op op, void* p, size_t size, size_t align) {
  if (p == nullptr) return;
  HookScope s;
  if (ATR_LIKELY(s.active())) {
    EventStamp st = s.Stamp();  // emitted before the free: see free()
    s.Emit(op, st, Addr(p), size, align, s.Stack(/*release=*/true));
    __libc_free(p);
  } else {
    __libc_free(p);
  }
}

inline size_t Align(std::align_val_t a) { return static_cast<size_t>(a); }

}  // namespace

ATR_OPERATOR void* operator new(size_t n) { return NewImpl(Op::kNew, n, 0, false); }
ATR_OPERATOR void* operator new[](size_t n) { return NewImpl(Op::kNewArray, n, 0, false); }
ATR_OPERATOR void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return NewImpl(Op::kNewNothrow, n, 0, true);
}
ATR_OPERATOR void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return NewImpl(Op::kNewArrayNothrow, n, 0, true);
}
ATR_OPERATOR void* operator new(size_t n, std::align_val_t a) {
  return NewImpl(Op::kNewAligned, n, Align(a), false);
}
ATR_OPERATOR void* operator new[](size_t n, std::align_val_t a) {
  return NewImpl(Op::kNewArrayAligned, n, Align(a), false);
}
ATR_OPERATOR void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return NewImpl(Op::kNewAlignedNothrow, n, Align(a), true);
}
ATR_OPERATOR void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return NewImpl(Op::kNewArrayAlignedNothrow, n, Align(a), true);
}

ATR_OPERATOR void operator delete(void* p) noexcept { DeleteImpl(Op::kDelete, p, 0, 0); }
ATR_OPERATOR void operator delete[](void* p) noexcept { DeleteImpl(Op::kDeleteArray, p, 0, 0); }
ATR_OPERATOR void operator delete(void* p, size_t n) noexcept {
  DeleteImpl(Op::kDeleteSized, p, n, 0);
}
ATR_OPERATOR void operator delete[](void* p, size_t n) noexcept {
  DeleteImpl(Op::kDeleteArraySized, p, n, 0);
}
ATR_OPERATOR void operator delete(void* p, std::align_val_t a) noexcept {
  DeleteImpl(Op::kDeleteAligned, p, 0, Align(a));
}
ATR_OPERATOR void operator delete[](void* p, std::align_val_t a) noexcept {
  DeleteImpl(Op::kDeleteArrayAligned, p, 0, Align(a));
}
ATR_OPERATOR void operator delete(void* p, size_t n, std::align_val_t a) noexcept {
  DeleteImpl(Op::kDeleteSizedAligned, p, n, Align(a));
}
ATR_OPERATOR void operator delete[](void* p, size_t n, std::align_val_t a) noexcept {
  DeleteImpl(Op::kDeleteArraySizedAligned, p, n, Align(a));
}
ATR_OPERATOR void operator delete(void* p, const std::nothrow_t&) noexcept {
  DeleteImpl(Op::kDeleteNothrow, p, 0, 0);
}
ATR_OPERATOR void operator delete[](void* p, const std::nothrow_t&) noexcept {
  DeleteImpl(Op::kDeleteArrayNothrow, p, 0, 0);
}
ATR_OPERATOR void operator delete(void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
  DeleteImpl(Op::kDeleteAlignedNothrow, p, 0, Align(a));
}
ATR_OPERATOR void operator delete[](void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
  DeleteImpl(Op::kDeleteArrayAlignedNothrow, p, 0, Align(a));
}
