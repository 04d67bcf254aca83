// Every replaceable global operator new/delete. Each forwards to its slot
// in next_functions.h: the allocator's own operator when the object that
// serves malloc defines it (tcmalloc, jemalloc, mimalloc), else
// OperatorOverMalloc below. libstdc++'s operators are never forwarded to:
// they call malloc through the PLT, i.e. through our hook.
#include <cstddef>
#include <new>

#include "recorder/preload/heap_hooks.h"

using atr::Op;
using namespace atr::preload;  // NOLINT: the hooks below are C++ symbols

#define ATR_OPERATOR __attribute__((visibility("default")))

namespace atr::preload {
namespace {

// The new-handler runs outside the forwarding scope: it may release memory
// (its emergency reserve), and that release must be recorded.
class SuspendForwarding {
 public:
  SuspendForwarding() : saved_(tls.internal) { tls.internal = 0; }
  ~SuspendForwarding() { tls.internal = saved_; }
  SuspendForwarding(const SuspendForwarding&) = delete;
  SuspendForwarding& operator=(const SuspendForwarding&) = delete;

 private:
  uint32_t saved_;
};

// The standard's allocation loop: retry after the new-handler; no handler
// means failure (nullptr here; the hook throws for throwing forms).
void* NewLoop(size_t n, size_t align) {
  if (n == 0) n = 1;
  // aligned_alloc wants a multiple of the alignment (as libstdc++ rounds).
  size_t bytes = align != 0 ? (n + align - 1) & ~(align - 1) : n;
  if (bytes < n) return nullptr;
  for (;;) {
    void* p = align != 0 ? ATR_NEXT(aligned_alloc)(align, bytes) : ATR_NEXT(malloc)(bytes);
    if (ATR_LIKELY(p != nullptr)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) return nullptr;
    try {
      SuspendForwarding outside;
      handler();
    } catch (...) {
      return nullptr;
    }
  }
}

inline size_t Align(std::align_val_t a) { return static_cast<size_t>(a); }

}  // namespace

void* OperatorOverMalloc(size_t n, const std::nothrow_t&) { return NewLoop(n, 0); }
void* OperatorOverMalloc(size_t n, std::align_val_t a, const std::nothrow_t&) {
  return NewLoop(n, Align(a));
}
void OperatorOverMalloc(void* p) { ATR_NEXT(free)(p); }
void OperatorOverMalloc(void* p, size_t) { ATR_NEXT(free)(p); }
void OperatorOverMalloc(void* p, std::align_val_t) { ATR_NEXT(free)(p); }
void OperatorOverMalloc(void* p, size_t, std::align_val_t) { ATR_NEXT(free)(p); }
void OperatorOverMalloc(void* p, const std::nothrow_t&) { ATR_NEXT(free)(p); }
void OperatorOverMalloc(void* p, std::align_val_t, const std::nothrow_t&) { ATR_NEXT(free)(p); }

}  // namespace atr::preload

// The throwing forms call the nothrow slots and throw here (next_functions.h).
ATR_OPERATOR void* operator new(size_t n) {
  return New(Op::kNew, n, 0, false, [&] { return ATR_NEXT(op_new_nothrow)(n, std::nothrow); });
}
ATR_OPERATOR void* operator new[](size_t n) {
  return New(Op::kNewArray, n, 0, false,
             [&] { return ATR_NEXT(op_new_array_nothrow)(n, std::nothrow); });
}
ATR_OPERATOR void* operator new(size_t n, const std::nothrow_t& t) noexcept {
  return New(Op::kNewNothrow, n, 0, true, [&] { return ATR_NEXT(op_new_nothrow)(n, t); });
}
ATR_OPERATOR void* operator new[](size_t n, const std::nothrow_t& t) noexcept {
  return New(Op::kNewArrayNothrow, n, 0, true,
             [&] { return ATR_NEXT(op_new_array_nothrow)(n, t); });
}
ATR_OPERATOR void* operator new(size_t n, std::align_val_t a) {
  return New(Op::kNewAligned, n, Align(a), false,
             [&] { return ATR_NEXT(op_new_aligned_nothrow)(n, a, std::nothrow); });
}
ATR_OPERATOR void* operator new[](size_t n, std::align_val_t a) {
  return New(Op::kNewArrayAligned, n, Align(a), false,
             [&] { return ATR_NEXT(op_new_array_aligned_nothrow)(n, a, std::nothrow); });
}
ATR_OPERATOR void* operator new(size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return New(Op::kNewAlignedNothrow, n, Align(a), true,
             [&] { return ATR_NEXT(op_new_aligned_nothrow)(n, a, t); });
}
ATR_OPERATOR void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return New(Op::kNewArrayAlignedNothrow, n, Align(a), true,
             [&] { return ATR_NEXT(op_new_array_aligned_nothrow)(n, a, t); });
}

ATR_OPERATOR void operator delete(void* p) noexcept {
  Release(Op::kDelete, p, 0, 0, [&] { ATR_NEXT(op_delete)(p); });
}
ATR_OPERATOR void operator delete[](void* p) noexcept {
  Release(Op::kDeleteArray, p, 0, 0, [&] { ATR_NEXT(op_delete_array)(p); });
}
ATR_OPERATOR void operator delete(void* p, size_t n) noexcept {
  Release(Op::kDeleteSized, p, n, 0, [&] { ATR_NEXT(op_delete_sized)(p, n); });
}
ATR_OPERATOR void operator delete[](void* p, size_t n) noexcept {
  Release(Op::kDeleteArraySized, p, n, 0, [&] { ATR_NEXT(op_delete_array_sized)(p, n); });
}
ATR_OPERATOR void operator delete(void* p, std::align_val_t a) noexcept {
  Release(Op::kDeleteAligned, p, 0, Align(a), [&] { ATR_NEXT(op_delete_aligned)(p, a); });
}
ATR_OPERATOR void operator delete[](void* p, std::align_val_t a) noexcept {
  Release(Op::kDeleteArrayAligned, p, 0, Align(a),
          [&] { ATR_NEXT(op_delete_array_aligned)(p, a); });
}
ATR_OPERATOR void operator delete(void* p, size_t n, std::align_val_t a) noexcept {
  Release(Op::kDeleteSizedAligned, p, n, Align(a),
          [&] { ATR_NEXT(op_delete_sized_aligned)(p, n, a); });
}
ATR_OPERATOR void operator delete[](void* p, size_t n, std::align_val_t a) noexcept {
  Release(Op::kDeleteArraySizedAligned, p, n, Align(a),
          [&] { ATR_NEXT(op_delete_array_sized_aligned)(p, n, a); });
}
ATR_OPERATOR void operator delete(void* p, const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteNothrow, p, 0, 0, [&] { ATR_NEXT(op_delete_nothrow)(p, t); });
}
ATR_OPERATOR void operator delete[](void* p, const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteArrayNothrow, p, 0, 0, [&] { ATR_NEXT(op_delete_array_nothrow)(p, t); });
}
ATR_OPERATOR void operator delete(void* p, std::align_val_t a, const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteAlignedNothrow, p, 0, Align(a),
          [&] { ATR_NEXT(op_delete_aligned_nothrow)(p, a, t); });
}
ATR_OPERATOR void operator delete[](void* p, std::align_val_t a, const std::nothrow_t& t) noexcept {
  Release(Op::kDeleteArrayAlignedNothrow, p, 0, Align(a),
          [&] { ATR_NEXT(op_delete_array_aligned_nothrow)(p, a, t); });
}
