// What every hook forwards to: the next definition of the interposed
// function in the program's symbol lookup order (dlsym(RTLD_NEXT, ...)),
// i.e. the program's own allocator (glibc's, or jemalloc, tcmalloc,
// mimalloc when the program links or preloads one after this library).
//
// Layout: one constant-initialized table, g_next. A hot slot (heap
// functions, operator new/delete, the allocators' own entry points) starts
// at a bootstrap trampoline with the slot's signature; the first call of
// any of them resolves the whole table once and then goes on to the real
// function, so a hook reads its slot once per call and never checks
// anything else. Rare slots (threads, processes, modules, address space)
// start null and are read through ATR_NEXT_RESOLVED, which resolves first.
//
// Invariants:
//   - dlsym runs only in ResolveNextFunctions, never while the program
//     can have dlerror state that a lookup would free behind the hooks'
//     back (glibc's _dlerror_run frees the pending error and its result
//     object on every dlsym; the first hook call of a process comes before
//     any, since making one calls malloc).
//   - While the table is being resolved, heap calls made by dlsym on the
//     resolving thread are served from a static pool (boot_pool.h); other
//     threads wait. Pool blocks are never passed to the real allocator.
//   - Every slot is callable after resolution: an operator new/delete the
//     allocator serving malloc does not define is this library's own
//     implementation over that allocator's malloc/free; an entry point of
//     an allocator that is not loaded fails (nullptr, ENOMEM) or does
//     nothing (releases). A C heap or rare function glibc must define
//     and does not ends the process with one line on stderr.
//
// Usage (a hook):
//   void* p;
//   { ForwardingScope f; p = ATR_NEXT(malloc)(n); }
#ifndef ATR_RECORDER_PRELOAD_NEXT_FUNCTIONS_H_
#define ATR_RECORDER_PRELOAD_NEXT_FUNCTIONS_H_

#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>

#include <cstddef>
#include <new>

namespace atr::preload {

// X(slot, "symbol", return type, (parameter types))
#define ATR_NEXT_C_HEAP(X)                                      \
  X(malloc, "malloc", void*, (size_t))                          \
  X(calloc, "calloc", void*, (size_t, size_t))                  \
  X(realloc, "realloc", void*, (void*, size_t))                 \
  X(reallocarray, "reallocarray", void*, (void*, size_t, size_t)) \
  X(free, "free", void, (void*))                                \
  X(posix_memalign, "posix_memalign", int, (void**, size_t, size_t)) \
  X(aligned_alloc, "aligned_alloc", void*, (size_t, size_t))    \
  X(memalign, "memalign", void*, (size_t, size_t))              \
  X(valloc, "valloc", void*, (size_t))                          \
  X(pvalloc, "pvalloc", void*, (size_t))

// Kept only where the object that serves malloc defines them (tcmalloc,
// jemalloc, mimalloc do); libstdc++'s would call malloc through our hook.
// The throwing forms of new are served by the nothrow slots: the hook
// throws std::bad_alloc itself, after its scope, so the exception object is
// recorded (an allocator throwing inside the call would allocate it
// unrecorded and the program's catch would free it recorded). The same
// holds for the tc_new* and mi_new* entry points below.
#define ATR_NEXT_OPERATORS(X)                                                        \
  X(op_new_nothrow, "_ZnwmRKSt9nothrow_t", void*, (size_t, const std::nothrow_t&))   \
  X(op_new_array_nothrow, "_ZnamRKSt9nothrow_t", void*, (size_t, const std::nothrow_t&)) \
  X(op_new_aligned_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t", void*,             \
    (size_t, std::align_val_t, const std::nothrow_t&))                               \
  X(op_new_array_aligned_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t", void*,       \
    (size_t, std::align_val_t, const std::nothrow_t&))                               \
  X(op_delete, "_ZdlPv", void, (void*))                                              \
  X(op_delete_array, "_ZdaPv", void, (void*))                                        \
  X(op_delete_sized, "_ZdlPvm", void, (void*, size_t))                               \
  X(op_delete_array_sized, "_ZdaPvm", void, (void*, size_t))                         \
  X(op_delete_aligned, "_ZdlPvSt11align_val_t", void, (void*, std::align_val_t))     \
  X(op_delete_array_aligned, "_ZdaPvSt11align_val_t", void, (void*, std::align_val_t)) \
  X(op_delete_sized_aligned, "_ZdlPvmSt11align_val_t", void, (void*, size_t, std::align_val_t)) \
  X(op_delete_array_sized_aligned, "_ZdaPvmSt11align_val_t", void,                   \
    (void*, size_t, std::align_val_t))                                               \
  X(op_delete_nothrow, "_ZdlPvRKSt9nothrow_t", void, (void*, const std::nothrow_t&)) \
  X(op_delete_array_nothrow, "_ZdaPvRKSt9nothrow_t", void, (void*, const std::nothrow_t&)) \
  X(op_delete_aligned_nothrow, "_ZdlPvSt11align_val_tRKSt9nothrow_t", void,          \
    (void*, std::align_val_t, const std::nothrow_t&))                                \
  X(op_delete_array_aligned_nothrow, "_ZdaPvSt11align_val_tRKSt9nothrow_t", void,    \
    (void*, std::align_val_t, const std::nothrow_t&))

// jemalloc's non-standard API that allocates or releases (sallocx and
// nallocx only answer sizes: not interposed).
#define ATR_NEXT_JEMALLOC(X)                                   \
  X(mallocx, "mallocx", void*, (size_t, int))                  \
  X(rallocx, "rallocx", void*, (void*, size_t, int))           \
  X(xallocx, "xallocx", size_t, (void*, size_t, size_t, int))  \
  X(dallocx, "dallocx", void, (void*, int))                    \
  X(sdallocx, "sdallocx", void, (void*, size_t, int))

// gperftools' tc_* entry points (gperftools/tcmalloc.h).
#define ATR_NEXT_TCMALLOC(X)                                                          \
  X(tc_malloc, "tc_malloc", void*, (size_t))                                          \
  X(tc_malloc_skip_new_handler, "tc_malloc_skip_new_handler", void*, (size_t))        \
  X(tc_calloc, "tc_calloc", void*, (size_t, size_t))                                  \
  X(tc_realloc, "tc_realloc", void*, (void*, size_t))                                 \
  X(tc_free, "tc_free", void, (void*))                                                \
  X(tc_free_sized, "tc_free_sized", void, (void*, size_t))                            \
  X(tc_cfree, "tc_cfree", void, (void*))                                              \
  X(tc_memalign, "tc_memalign", void*, (size_t, size_t))                              \
  X(tc_posix_memalign, "tc_posix_memalign", int, (void**, size_t, size_t))            \
  X(tc_valloc, "tc_valloc", void*, (size_t))                                          \
  X(tc_pvalloc, "tc_pvalloc", void*, (size_t))                                        \
  X(tc_new_nothrow, "tc_new_nothrow", void*, (size_t, const std::nothrow_t&))         \
  X(tc_newarray_nothrow, "tc_newarray_nothrow", void*, (size_t, const std::nothrow_t&)) \
  X(tc_new_aligned_nothrow, "tc_new_aligned_nothrow", void*,                          \
    (size_t, std::align_val_t, const std::nothrow_t&))                                \
  X(tc_newarray_aligned_nothrow, "tc_newarray_aligned_nothrow", void*,                \
    (size_t, std::align_val_t, const std::nothrow_t&))                                \
  X(tc_delete, "tc_delete", void, (void*))                                            \
  X(tc_deletearray, "tc_deletearray", void, (void*))                                  \
  X(tc_delete_sized, "tc_delete_sized", void, (void*, size_t))                        \
  X(tc_deletearray_sized, "tc_deletearray_sized", void, (void*, size_t))              \
  X(tc_delete_nothrow, "tc_delete_nothrow", void, (void*, const std::nothrow_t&))     \
  X(tc_deletearray_nothrow, "tc_deletearray_nothrow", void, (void*, const std::nothrow_t&)) \
  X(tc_delete_aligned, "tc_delete_aligned", void, (void*, std::align_val_t))          \
  X(tc_deletearray_aligned, "tc_deletearray_aligned", void, (void*, std::align_val_t)) \
  X(tc_delete_sized_aligned, "tc_delete_sized_aligned", void,                         \
    (void*, size_t, std::align_val_t))                                                \
  X(tc_deletearray_sized_aligned, "tc_deletearray_sized_aligned", void,               \
    (void*, size_t, std::align_val_t))                                                \
  X(tc_delete_aligned_nothrow, "tc_delete_aligned_nothrow", void,                     \
    (void*, std::align_val_t, const std::nothrow_t&))                                 \
  X(tc_deletearray_aligned_nothrow, "tc_deletearray_aligned_nothrow", void,           \
    (void*, std::align_val_t, const std::nothrow_t&))

// mimalloc's common entry points (mimalloc.h); the mi_heap_* API is not
// interposed.
#define ATR_NEXT_MIMALLOC(X)                                              \
  X(mi_malloc, "mi_malloc", void*, (size_t))                              \
  X(mi_malloc_small, "mi_malloc_small", void*, (size_t))                  \
  X(mi_zalloc, "mi_zalloc", void*, (size_t))                              \
  X(mi_zalloc_small, "mi_zalloc_small", void*, (size_t))                  \
  X(mi_calloc, "mi_calloc", void*, (size_t, size_t))                      \
  X(mi_mallocn, "mi_mallocn", void*, (size_t, size_t))                    \
  X(mi_strdup, "mi_strdup", char*, (const char*))                         \
  X(mi_strndup, "mi_strndup", char*, (const char*, size_t))               \
  X(mi_realloc, "mi_realloc", void*, (void*, size_t))                     \
  X(mi_reallocf, "mi_reallocf", void*, (void*, size_t))                   \
  X(mi_rezalloc, "mi_rezalloc", void*, (void*, size_t))                   \
  X(mi_reallocn, "mi_reallocn", void*, (void*, size_t, size_t))           \
  X(mi_reallocarray, "mi_reallocarray", void*, (void*, size_t, size_t))   \
  X(mi_recalloc, "mi_recalloc", void*, (void*, size_t, size_t))           \
  X(mi_expand, "mi_expand", void*, (void*, size_t))                       \
  X(mi_malloc_aligned, "mi_malloc_aligned", void*, (size_t, size_t))      \
  X(mi_zalloc_aligned, "mi_zalloc_aligned", void*, (size_t, size_t))      \
  X(mi_calloc_aligned, "mi_calloc_aligned", void*, (size_t, size_t, size_t)) \
  X(mi_realloc_aligned, "mi_realloc_aligned", void*, (void*, size_t, size_t)) \
  X(mi_posix_memalign, "mi_posix_memalign", int, (void**, size_t, size_t)) \
  X(mi_memalign, "mi_memalign", void*, (size_t, size_t))                  \
  X(mi_aligned_alloc, "mi_aligned_alloc", void*, (size_t, size_t))        \
  X(mi_valloc, "mi_valloc", void*, (size_t))                              \
  X(mi_pvalloc, "mi_pvalloc", void*, (size_t))                            \
  X(mi_new_nothrow, "mi_new_nothrow", void*, (size_t))                    \
  X(mi_new_aligned_nothrow, "mi_new_aligned_nothrow", void*, (size_t, size_t)) \
  X(mi_free, "mi_free", void, (void*))                                    \
  X(mi_cfree, "mi_cfree", void, (void*))                                  \
  X(mi_free_size, "mi_free_size", void, (void*, size_t))                  \
  X(mi_free_aligned, "mi_free_aligned", void, (void*, size_t))            \
  X(mi_free_size_aligned, "mi_free_size_aligned", void, (void*, size_t, size_t))

// Threads, processes, modules and the address space (resolved with the
// rest; read through NextResolved()).
#define ATR_NEXT_RARE(X)                                                           \
  X(pthread_create, "pthread_create", int,                                         \
    (pthread_t*, const pthread_attr_t*, void* (*)(void*), void*))                  \
  X(pthread_setname_np, "pthread_setname_np", int, (pthread_t, const char*))       \
  X(prctl, "prctl", int, (int, ...))                                               \
  X(fork, "fork", pid_t, ())                                                       \
  X(execve, "execve", int, (const char*, char* const*, char* const*))              \
  X(execvpe, "execvpe", int, (const char*, char* const*, char* const*))            \
  X(fexecve, "fexecve", int, (int, char* const*, char* const*))                    \
  X(posix_spawn, "posix_spawn", int,                                               \
    (pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*, \
     char* const*, char* const*))                                                  \
  X(posix_spawnp, "posix_spawnp", int,                                             \
    (pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*, \
     char* const*, char* const*))                                                  \
  X(system, "system", int, (const char*))                                          \
  X(dlopen, "dlopen", void*, (const char*, int))                                   \
  X(dlclose, "dlclose", int, (void*))                                              \
  X(mmap, "mmap", void*, (void*, size_t, int, int, int, off_t))                    \
  X(mmap64, "mmap64", void*, (void*, size_t, int, int, int, off_t))                \
  X(munmap, "munmap", int, (void*, size_t))                                        \
  X(mremap, "mremap", void*, (void*, size_t, size_t, int, ...))                    \
  X(brk, "brk", int, (void*))                                                      \
  X(sbrk, "sbrk", void*, (intptr_t))

#define ATR_NEXT_HOT(X) \
  ATR_NEXT_C_HEAP(X)    \
  ATR_NEXT_OPERATORS(X) \
  ATR_NEXT_JEMALLOC(X)  \
  ATR_NEXT_TCMALLOC(X)  \
  ATR_NEXT_MIMALLOC(X)

struct NextFunctions {
#define ATR_NEXT_SLOT(slot, symbol, ret, params) ret(*slot) params;
  ATR_NEXT_HOT(ATR_NEXT_SLOT)
  ATR_NEXT_RARE(ATR_NEXT_SLOT)
#undef ATR_NEXT_SLOT
};

// Written only by the resolution (whole slots, atomically); read by hooks.
extern NextFunctions g_next;

// Resolves every slot once per process; returns at once when done. On the
// resolving thread, a nested call (from dlsym's own allocations) returns
// without waiting: the caller is served from the pool. Other threads wait.
void ResolveNextFunctions();
bool NextFunctionsResolved();

// operator new/delete over the next malloc/aligned_alloc/free, for the
// operator slots the allocator serving malloc does not define. The new
// forms run the new-handler loop and return nullptr on failure.
void* OperatorOverMalloc(size_t n, const std::nothrow_t&);
void* OperatorOverMalloc(size_t n, std::align_val_t align, const std::nothrow_t&);
void OperatorOverMalloc(void* p);
void OperatorOverMalloc(void* p, size_t n);
void OperatorOverMalloc(void* p, std::align_val_t align);
void OperatorOverMalloc(void* p, size_t n, std::align_val_t align);
void OperatorOverMalloc(void* p, const std::nothrow_t&);
void OperatorOverMalloc(void* p, std::align_val_t align, const std::nothrow_t&);

// This library's own heap needs (outside any recorded event): the
// program's allocator, with hooks it reaches forwarding.
void* OwnMalloc(size_t n);
void OwnFree(void* p);

}  // namespace atr::preload

// The slot's current value; for hot slots (always callable).
#define ATR_NEXT(slot) __atomic_load_n(&::atr::preload::g_next.slot, __ATOMIC_RELAXED)
// For rare slots: resolves the table first if needed.
#define ATR_NEXT_RESOLVED(slot)                                                   \
  (::atr::preload::NextFunctionsResolved() ? void() : ::atr::preload::ResolveNextFunctions(), \
   ATR_NEXT(slot))

#endif  // ATR_RECORDER_PRELOAD_NEXT_FUNCTIONS_H_
