// The simulated address space: arenas "mapped from the OS" and per-OS-page
// residency. No real memory is ever touched.
//
// Layout: arenas are mapped back to back from `base`, so the mapped space is
// the single range [base, base + mapped_bytes). One bit per OS page records
// residency: set when an allocation first covers the page (Touch), cleared
// when the scavenger releases it (Release).
// Invariant: resident_bytes() == (set bits) * os_page_size <= mapped_bytes().
//
// Usage:
//   AddressSpace as(/*base=*/0xc000000000, /*arena=*/64 << 20, /*os_page=*/4096);
//   uint64_t a = as.MapArenas(1);      // 0xc000000000
//   as.Touch(a + 100, 16);             // one OS page now resident
//   as.Release(a, 64 << 20);           // returns 4096: bytes no longer resident
#ifndef ATR_ALLOCATOR_ADDRESS_SPACE_H_
#define ATR_ALLOCATOR_ADDRESS_SPACE_H_

#include <cstdint>
#include <vector>

#include "allocator/bitmap.h"

namespace atr::alloc {

class AddressSpace {
 public:
  // REQUIRES: os_page_size is a power of two; arena_size and base are
  // multiples of it.
  AddressSpace(uint64_t base, uint64_t arena_size, uint64_t os_page_size);

  // Maps `count` more arenas right after the mapped range; returns the first
  // new address. The new pages are not resident.
  uint64_t MapArenas(uint64_t count);

  // Marks every OS page overlapping [addr, addr + len) resident.
  // REQUIRES: the range is mapped; len > 0.
  void Touch(uint64_t addr, uint64_t len) {
    uint64_t first = (addr - base_) >> os_page_shift_;
    uint64_t last = (addr + len - 1 - base_) >> os_page_shift_;
    if (first == last) {  // the common case: a small object in one page
      uint64_t& word = resident_[first >> 6];
      uint64_t bit = uint64_t{1} << (first & 63);
      resident_pages_ += (word & bit) == 0;
      word |= bit;
      return;
    }
    resident_pages_ += bitmap::SetRange(resident_, first, last + 1);
  }

  // Marks the OS pages inside [addr, addr + len) not resident; returns the
  // bytes that stopped being resident.
  // REQUIRES: addr and len are multiples of os_page_size; the range is mapped.
  uint64_t Release(uint64_t addr, uint64_t len);

  bool IsResident(uint64_t addr) const {
    return bitmap::Test(resident_, (addr - base_) >> os_page_shift_);
  }
  // Resident bytes among the OS pages overlapping [addr, addr + len).
  uint64_t ResidentBytesIn(uint64_t addr, uint64_t len) const;

  uint64_t base() const { return base_; }
  uint64_t end() const { return base_ + mapped_bytes_; }
  uint64_t arena_size() const { return arena_size_; }
  uint64_t os_page_size() const { return uint64_t{1} << os_page_shift_; }
  uint64_t mapped_bytes() const { return mapped_bytes_; }
  uint64_t resident_bytes() const { return resident_pages_ << os_page_shift_; }
  uint64_t metadata_bytes() const { return resident_.capacity() * 8; }

 private:
  uint64_t base_;
  uint64_t arena_size_;
  int os_page_shift_;
  uint64_t mapped_bytes_ = 0;
  uint64_t resident_pages_ = 0;     // set bits in resident_
  std::vector<uint64_t> resident_;  // one bit per mapped OS page
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_ADDRESS_SPACE_H_
