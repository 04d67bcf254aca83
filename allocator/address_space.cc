#include "allocator/address_space.h"

#include <bit>

namespace atr::alloc {

AddressSpace::AddressSpace(uint64_t base, uint64_t arena_size,
                           uint64_t os_page_size)
    : base_(base),
      arena_size_(arena_size),
      os_page_shift_(std::countr_zero(os_page_size)) {}

uint64_t AddressSpace::MapArenas(uint64_t count) {
  uint64_t first = end();
  mapped_bytes_ += count * arena_size_;
  uint64_t pages = mapped_bytes_ >> os_page_shift_;
  resident_.resize((pages + 63) / 64, 0);
  return first;
}

uint64_t AddressSpace::Release(uint64_t addr, uint64_t len) {
  uint64_t first = (addr - base_) >> os_page_shift_;
  uint64_t count = len >> os_page_shift_;
  uint64_t cleared = bitmap::ClearRange(resident_, first, first + count);
  resident_pages_ -= cleared;
  return cleared << os_page_shift_;
}

uint64_t AddressSpace::ResidentBytesIn(uint64_t addr, uint64_t len) const {
  if (len == 0) return 0;
  uint64_t first = (addr - base_) >> os_page_shift_;
  uint64_t last = (addr + len - 1 - base_) >> os_page_shift_;
  return bitmap::CountRange(resident_, first, last + 1) << os_page_shift_;
}

}  // namespace atr::alloc
