#include "recorder/preload/boot_pool.h"

#include <errno.h>

#include <atomic>

namespace atr::preload {

alignas(4096) uint8_t g_boot_pool[kBootPoolBytes];

namespace {
constexpr size_t kHeader = 16;
std::atomic<size_t> g_used{0};
}  // namespace

void* BootPoolAllocate(size_t bytes, size_t align) {
  if (align < kHeader) align = kHeader;
  if (bytes > kBootPoolBytes) {
    errno = ENOMEM;
    return nullptr;
  }
  size_t used = g_used.load(std::memory_order_relaxed);
  size_t start;
  do {
    start = (used + kHeader + align - 1) & ~(align - 1);
    if (start + bytes > kBootPoolBytes) {
      errno = ENOMEM;
      return nullptr;
    }
  } while (!g_used.compare_exchange_weak(used, start + bytes, std::memory_order_relaxed));
  *reinterpret_cast<size_t*>(g_boot_pool + start - kHeader) = bytes;
  return g_boot_pool + start;
}

size_t BootPoolBlockSize(const void* p) {
  return *reinterpret_cast<const size_t*>(static_cast<const uint8_t*>(p) - kHeader);
}

}  // namespace atr::preload
