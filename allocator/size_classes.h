// Size classes: which object sizes exist and how many pages a span of each has.
//
// Layout: class 0 means "no class" (a large object served by the page heap);
// classes 1..N-1 have strictly increasing sizes, multiples of 8. Class c's span
// is info(c).pages pages holding info(c).capacity objects back to back from the
// span start; the last span_bytes - capacity*size bytes are the unusable tail.
// Invariant: ClassFor(s, a) is the smallest class with size >= s whose objects
// are all a-aligned (a <= page size), or 0 when no class qualifies.
//
// Usage:
//   absl::StatusOr<SizeClasses> classes = SizeClasses::Create(Config{});
//   uint32_t c = classes->ClassFor(/*size=*/100, /*alignment=*/8);  // 112 B
//   uint32_t objects = classes->info(c).capacity;                    // 73
#ifndef ATR_ALLOCATOR_SIZE_CLASSES_H_
#define ATR_ALLOCATOR_SIZE_CLASSES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "allocator/config.h"

namespace atr::alloc {

struct SizeClassInfo {
  uint32_t size = 0;      // bytes per object
  uint32_t pages = 0;     // pages per span
  uint32_t capacity = 0;  // objects per span: pages * page_size / size
  uint32_t batch = 0;     // objects per thread cache <-> central transfer
  uint32_t align = 0;     // every object's address is a multiple of this
};

class SizeClasses {
 public:
  // Builds the table cfg.size_classes selects; fails on a malformed
  // custom_classes list.
  static absl::StatusOr<SizeClasses> Create(const Config& cfg);

  // Number of classes including the reserved class 0.
  uint32_t num_classes() const { return static_cast<uint32_t>(info_.size()); }
  const SizeClassInfo& info(uint32_t cls) const { return info_[cls]; }
  // Largest object size served from a size class.
  uint64_t max_size() const { return info_.back().size; }
  uint64_t page_size() const { return page_size_; }

  // REQUIRES: alignment is a power of two (0 and 1 mean 8).
  uint32_t ClassFor(uint64_t size, uint64_t alignment) const {
    if (size > max_size()) return 0;
    uint32_t cls = lookup_[(size + 7) >> 3];
    if (alignment <= info_[cls].align) return cls;
    return ClassForAligned(cls, alignment);
  }

 private:
  SizeClasses() = default;
  uint32_t ClassForAligned(uint32_t cls, uint64_t alignment) const;

  uint64_t page_size_ = 0;
  std::vector<SizeClassInfo> info_;  // [0] is the reserved "large" class
  std::vector<uint16_t> lookup_;     // (size + 7) / 8 -> smallest fitting class
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_SIZE_CLASSES_H_
