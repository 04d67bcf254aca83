// The static pool that answers heap calls made while the next functions are
// being resolved (dlsym may calloc or malloc, and ld.so formats the error
// of a symbol it did not find with malloc), as heaptrack's preload does.
//
// Layout: kBootPoolBytes of .bss, handed out front to back; each block is
// preceded by a 16-byte header holding its size. Nothing is ever reused:
// a pool block's free is recognized (InBootPool) and ignored, and it is
// never passed to the program's allocator. Untouched pages stay unmapped
// zero pages, so calloc needs no memset.
//
// Thread-safety: allocation is a lock-free bump; only the resolving
// thread allocates in practice (other threads wait for the resolution).
//
//   if (InBootPool(p)) return;  // in free(): not the allocator's block
#ifndef ATR_RECORDER_PRELOAD_BOOT_POOL_H_
#define ATR_RECORDER_PRELOAD_BOOT_POOL_H_

#include <cstddef>
#include <cstdint>

namespace atr::preload {

inline constexpr size_t kBootPoolBytes = 64 * 1024;
extern uint8_t g_boot_pool[kBootPoolBytes];

// nullptr (errno ENOMEM) when the pool is used up. `align`: a power of two,
// at least 16.
void* BootPoolAllocate(size_t bytes, size_t align);
// Bytes requested for a pool block. REQUIRES: InBootPool(p).
size_t BootPoolBlockSize(const void* p);

inline bool InBootPool(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(g_boot_pool) <
         kBootPoolBytes;
}

}  // namespace atr::preload

#endif  // ATR_RECORDER_PRELOAD_BOOT_POOL_H_
