// Resolution of the next functions (next_functions.h): one pass of
// dlsym(RTLD_NEXT) lookups at the first hook call, the bootstrap
// trampolines the hot slots start with, and the stand-ins for what is not
// there.
#include "recorder/preload/next_functions.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <type_traits>

#include "recorder/preload/boot_pool.h"
#include "recorder/preload/preload.h"

namespace atr::preload {
namespace {

// ---- stand-ins

// An entry point of an allocator that is not loaded (reached only if the
// program finds our definition, e.g. by dlsym, without the allocator):
// acquisitions fail, releases do nothing.
template <typename Fn>
struct Missing;
template <typename R, typename... A>
struct Missing<R (*)(A...)> {
  static R Call(A...) {
    if constexpr (std::is_same_v<R, int>) {
      return ENOMEM;  // posix_memalign-style
    } else if constexpr (!std::is_void_v<R>) {
      errno = ENOMEM;
      return R();
    }
  }
};
// What the C heap slots answer on the resolving thread, before the
// lookups are published: the boot pool.
struct PoolHeap {
  static void* malloc(size_t n) { return BootPoolAllocate(n, 16); }
  static void* calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
      errno = ENOMEM;
      return nullptr;
    }
    return BootPoolAllocate(total, 16);  // never reused: still zero
  }
  static void* realloc(void* old, size_t n) {
    void* p = BootPoolAllocate(n, 16);
    if (p != nullptr && old != nullptr && InBootPool(old)) {
      size_t was = BootPoolBlockSize(old);
      memcpy(p, old, was < n ? was : n);
    }
    return p;
  }
  static void* reallocarray(void* old, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
      errno = ENOMEM;
      return nullptr;
    }
    return realloc(old, total);
  }
  static void free(void*) {}
  static int posix_memalign(void** out, size_t align, size_t n) {
    void* p = BootPoolAllocate(n, align);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
  }
  static void* aligned_alloc(size_t align, size_t n) { return BootPoolAllocate(n, align); }
  static void* memalign(size_t align, size_t n) { return BootPoolAllocate(n, align); }
  static void* valloc(size_t n) { return BootPoolAllocate(n, 4096); }
  static void* pvalloc(size_t n) { return BootPoolAllocate((n + 4095) & ~size_t{4095}, 4096); }
};

// The value a hot slot starts with: resolves the table, then calls the
// slot's real function. Called again on the resolving thread (the slot
// still points here), it answers with `Fallback` instead of recursing.
template <auto Slot, auto Fallback, typename Fn>
struct Boot;
template <auto Slot, auto Fallback, typename R, typename... A>
struct Boot<Slot, Fallback, R (*)(A...)> {
  static R Call(A... a) {
    ResolveNextFunctions();
    R (*f)(A...) = __atomic_load_n(&(g_next.*Slot), __ATOMIC_RELAXED);
    if (ATR_UNLIKELY(f == &Call)) return Fallback(a...);
    return f(a...);
  }
};

template <typename Fn>
using SlotType = std::remove_reference_t<Fn>;

// ---- lookups

// Called from this library, so RTLD_NEXT means "after libatr_preload.so".
template <typename Fn>
Fn LookUpNext(const char* symbol) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, symbol));
}

const void* ObjectOf(const void* fn) {
  Dl_info info;
  if (fn == nullptr || dladdr(fn, &info) == 0) return nullptr;
  return info.dli_fbase;
}

[[noreturn]] void DieWithoutNext(const char* symbol) {
  static const char kMsg[] = "atr preload: no next definition of ";
  ssize_t ignored = write(2, kMsg, sizeof(kMsg) - 1);
  ignored = write(2, symbol, StrLen(symbol));
  ignored = write(2, "\n", 1);
  (void)ignored;
  _exit(127);
}

#define ATR_LOOK_UP_REQUIRED(slot, symbol, ret, params)       \
  t->slot = LookUpNext<SlotType<decltype(t->slot)>>(symbol); \
  if (t->slot == nullptr) DieWithoutNext(symbol);

void LookUpCHeap(NextFunctions* t) { ATR_NEXT_C_HEAP(ATR_LOOK_UP_REQUIRED) }

// Each operator forwards to the next definition only if the object that
// serves malloc defines it; otherwise (libstdc++'s, which calls malloc
// through our hook, or none) it is ours, over that malloc/free.
void LookUpOperators(NextFunctions* t) {
  const void* heap = ObjectOf(reinterpret_cast<const void*>(t->malloc));
  const void* new_owner = ObjectOf(LookUpNext<void*>("_ZnwmRKSt9nothrow_t"));
  bool allocator_has_operators = heap != nullptr && new_owner == heap;
#define ATR_LOOK_UP_OPERATOR(slot, symbol, ret, params)                             \
  {                                                                                 \
    auto f = allocator_has_operators ? LookUpNext<SlotType<decltype(t->slot)>>(symbol) \
                                     : nullptr;                                     \
    if (f == nullptr || ObjectOf(reinterpret_cast<const void*>(f)) != heap) {       \
      f = &OperatorOverMalloc;                                                      \
    }                                                                               \
    t->slot = f;                                                                    \
  }
  ATR_NEXT_OPERATORS(ATR_LOOK_UP_OPERATOR)
#undef ATR_LOOK_UP_OPERATOR
}

// An allocator's own API: looked up only if its marker symbol is found
// (one failed lookup per allocator that is not there, not one per entry
// point).
void LookUpAllocators(NextFunctions* t) {
  auto find = [](const char* symbol) { return LookUpNext<void*>(symbol); };
#define ATR_LOOK_UP_OPTIONAL(slot, symbol, ret, params)                           \
  {                                                                               \
    auto f = reinterpret_cast<SlotType<decltype(t->slot)>>(find(symbol));          \
    t->slot = f != nullptr ? f : &Missing<SlotType<decltype(t->slot)>>::Call;     \
  }
  if (find("mallocx") != nullptr) {
    ATR_NEXT_JEMALLOC(ATR_LOOK_UP_OPTIONAL)
  }
  if (find("tc_malloc") != nullptr) {
    ATR_NEXT_TCMALLOC(ATR_LOOK_UP_OPTIONAL)
  }
  if (find("mi_malloc") != nullptr) {
    ATR_NEXT_MIMALLOC(ATR_LOOK_UP_OPTIONAL)
  }
#undef ATR_LOOK_UP_OPTIONAL
}

void LookUpRare(NextFunctions* t) { ATR_NEXT_RARE(ATR_LOOK_UP_REQUIRED) }
#undef ATR_LOOK_UP_REQUIRED

// A failed lookup leaves glibc's dlerror state behind (a result object and
// its message, on this thread); the program must not find it. dlerror()
// returns the message once, then frees both.
void DiscardDlerrorState() {
  while (dlerror() != nullptr) {
  }
}

void Publish(const NextFunctions& t) {
#define ATR_PUBLISH(slot, symbol, ret, params) \
  __atomic_store_n(&g_next.slot, t.slot, __ATOMIC_RELAXED);
  ATR_NEXT_HOT(ATR_PUBLISH)
  ATR_NEXT_RARE(ATR_PUBLISH)
#undef ATR_PUBLISH
}

std::atomic<int> g_state{0};  // 0: not resolved, 1: resolving, 2: resolved
__thread bool t_resolving __attribute__((tls_model("initial-exec")));

}  // namespace

// Hot slots start at their trampoline, rare ones at null.
constinit NextFunctions g_next = {
#define ATR_BOOT_C_HEAP(slot, symbol, ret, params) \
  .slot = &Boot<&NextFunctions::slot, &PoolHeap::slot, ret(*) params>::Call,
#define ATR_BOOT_OTHER(slot, symbol, ret, params) \
  .slot = &Boot<&NextFunctions::slot, &Missing<ret(*) params>::Call, ret(*) params>::Call,
#define ATR_NULL(slot, symbol, ret, params) .slot = nullptr,
    ATR_NEXT_C_HEAP(ATR_BOOT_C_HEAP)
    ATR_NEXT_OPERATORS(ATR_BOOT_OTHER)
    ATR_NEXT_JEMALLOC(ATR_BOOT_OTHER)
    ATR_NEXT_TCMALLOC(ATR_BOOT_OTHER)
    ATR_NEXT_MIMALLOC(ATR_BOOT_OTHER)
    ATR_NEXT_RARE(ATR_NULL)
#undef ATR_BOOT_C_HEAP
#undef ATR_BOOT_OTHER
#undef ATR_NULL
};

bool NextFunctionsResolved() { return g_state.load(std::memory_order_acquire) == 2; }

void ResolveNextFunctions() {
  if (ATR_LIKELY(NextFunctionsResolved()) || t_resolving) return;
  int expected = 0;
  if (!g_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    while (!NextFunctionsResolved()) sched_yield();
    return;
  }
  t_resolving = true;
  {
    InternalScope in;
    NextFunctions t;
#define ATR_INIT_MISSING(slot, symbol, ret, params) t.slot = &Missing<ret(*) params>::Call;
    ATR_NEXT_JEMALLOC(ATR_INIT_MISSING)
    ATR_NEXT_TCMALLOC(ATR_INIT_MISSING)
    ATR_NEXT_MIMALLOC(ATR_INIT_MISSING)
#undef ATR_INIT_MISSING
    LookUpCHeap(&t);
    LookUpOperators(&t);
    LookUpAllocators(&t);
    LookUpRare(&t);
    DiscardDlerrorState();
    Publish(t);
  }
  t_resolving = false;
  g_state.store(2, std::memory_order_release);
}

void* OwnMalloc(size_t n) {
  ForwardingScope f;
  return ATR_NEXT(malloc)(n);
}

void OwnFree(void* p) {
  if (p == nullptr || InBootPool(p)) return;
  ForwardingScope f;
  ATR_NEXT(free)(p);
}

}  // namespace atr::preload
