/* A second count of Python's allocations, independent of atr, for
 * real_programs_test. Loaded into python3 with ctypes:
 *
 *   counter = ctypes.CDLL(".../libpy_alloc_counter.so")
 *   counter.py_alloc_counter_start()   # wraps every allocator domain
 *   ... the workload ...
 *   counter.py_alloc_counter_stop()    # restores them
 *   counter.py_alloc_counter_get(i)    # 0 malloc, 1 calloc, 2 realloc,
 *                                      # 3 realloc of a block, 4 free of one
 *
 * While started, every call through Python's allocator API (PyMem_Raw*,
 * PyMem_*, PyObject_*; with PYTHONMALLOC=malloc each goes on to libc) passes
 * through a counting wrapper here, so the trace shows this library's frame
 * above each such malloc. start() and stop() each allocate one block of a
 * marker size straight from libc, outside the count, to mark the window in
 * the trace.
 *
 * The allocator API (CPython's "Customize Memory Allocators", stable since
 * 3.5) is declared here rather than taken from Python.h, so the test needs
 * no Python headers; the symbols come from the python3 that loads us. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
  void* ctx;
  void* (*malloc)(void* ctx, size_t size);
  void* (*calloc)(void* ctx, size_t nelem, size_t elsize);
  void* (*realloc)(void* ctx, void* ptr, size_t new_size);
  void (*free)(void* ctx, void* ptr);
} PyMemAllocatorEx;

enum { kDomains = 3 };  /* PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ */
void PyMem_GetAllocator(int domain, PyMemAllocatorEx* allocator);
void PyMem_SetAllocator(int domain, PyMemAllocatorEx* allocator);

enum { kMarkStart = 777001, kMarkStop = 777002 };
enum { kMalloc, kCalloc, kRealloc, kReallocBlock, kFreeBlock, kCounters };

static PyMemAllocatorEx g_original[kDomains];
static uint64_t g_counts[kCounters];

static void Count(int what) { __atomic_fetch_add(&g_counts[what], 1, __ATOMIC_RELAXED); }

/* ctx is the domain's original allocator. The wrappers are not tail calls
 * (built with -fno-optimize-sibling-calls), so their frame is on the stack. */
static void* CountMalloc(void* ctx, size_t size) {
  PyMemAllocatorEx* a = ctx;
  Count(kMalloc);
  return a->malloc(a->ctx, size);
}

static void* CountCalloc(void* ctx, size_t nelem, size_t elsize) {
  PyMemAllocatorEx* a = ctx;
  Count(kCalloc);
  return a->calloc(a->ctx, nelem, elsize);
}

static void* CountRealloc(void* ctx, void* ptr, size_t size) {
  PyMemAllocatorEx* a = ctx;
  Count(kRealloc);
  if (ptr != NULL) Count(kReallocBlock);
  return a->realloc(a->ctx, ptr, size);
}

static void CountFree(void* ctx, void* ptr) {
  PyMemAllocatorEx* a = ctx;
  if (ptr != NULL) Count(kFreeBlock);
  a->free(a->ctx, ptr);
}

static void Mark(size_t size) {
  void* volatile p = malloc(size);
  free(p);
}

void py_alloc_counter_start(void) {
  Mark(kMarkStart);
  for (int i = 0; i < kCounters; ++i) g_counts[i] = 0;
  for (int d = 0; d < kDomains; ++d) {
    PyMem_GetAllocator(d, &g_original[d]);
    PyMemAllocatorEx counting = {&g_original[d], CountMalloc, CountCalloc, CountRealloc,
                                 CountFree};
    PyMem_SetAllocator(d, &counting);
  }
}

void py_alloc_counter_stop(void) {
  for (int d = 0; d < kDomains; ++d) PyMem_SetAllocator(d, &g_original[d]);
  Mark(kMarkStop);
}

uint64_t py_alloc_counter_get(int what) {
  return what >= 0 && what < kCounters ? __atomic_load_n(&g_counts[what], __ATOMIC_RELAXED) : 0;
}
