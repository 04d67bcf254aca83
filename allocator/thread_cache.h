// A per-thread cache: free objects of each size class, handed out and taken
// back without touching the central free lists (where a real allocator locks).
//
// Layout: one ring buffer of ObjectRefs per size class, oldest at the head,
// newest at the tail; allocation pops the newest (warmest) object.
// Invariants: bytes() = sum over classes of length * size <= capacity after
// every public call; a class list never exceeds MaxLength(class). Overflow
// goes back to the central list: the oldest batch (policy batch) or the whole
// list (policy all); over the byte capacity, lists are trimmed round-robin.
//
// Usage:
//   ThreadCache tc(cfg, &classes, &centrals);
//   absl::StatusOr<ObjectRef> obj = tc.Allocate(cls);   // refills in batches
//   tc.Deallocate(cls, *obj);                            // may spill a batch
#ifndef ATR_ALLOCATOR_THREAD_CACHE_H_
#define ATR_ALLOCATOR_THREAD_CACHE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "allocator/central_free_list.h"
#include "allocator/config.h"
#include "allocator/size_classes.h"

namespace atr::alloc {

class ThreadCache {
 public:
  // REQUIRES: classes and centrals outlive the cache; cfg.thread_cache_bytes > 0.
  ThreadCache(const Config& cfg, const SizeClasses* classes,
              std::vector<CentralFreeList>* centrals);

  // An object of class cls (kCachedSlot), from this cache or, when the list
  // is empty, from a batch fetched from the central list.
  absl::StatusOr<ObjectRef> Allocate(uint32_t cls) {
    List& l = lists_[cls];
    if (l.length > 0) {
      --l.length;
      bytes_ -= classes_->info(cls).size;
      return l.ring[(l.head + l.length) & l.mask];
    }
    return Refill(cls);
  }

  // Takes back a freed object (kCachedSlot).
  void Deallocate(uint32_t cls, ObjectRef obj) {
    List& l = lists_[cls];
    if (l.length == l.mask + 1) Grow(l);
    l.ring[(l.head + l.length) & l.mask] = obj;
    ++l.length;
    bytes_ += classes_->info(cls).size;
    if (l.length > max_length_[cls] || bytes_ > capacity_) Overflow(cls);
  }

  // Returns every cached object to the central lists (thread exit).
  void Flush();

  uint64_t bytes() const { return bytes_; }
  uint32_t length(uint32_t cls) const { return lists_[cls].length; }
  uint32_t MaxLength(uint32_t cls) const { return max_length_[cls]; }
  // Transfers to or from central lists so far (each would take a lock).
  uint64_t transfers() const { return transfers_; }
  uint64_t metadata_bytes() const;

  // Calls fn(cls, ObjectRef) for every cached object.
  template <typename Fn>
  void ForEachObject(Fn fn) const {
    for (uint32_t c = 1; c < lists_.size(); ++c) {
      const List& l = lists_[c];
      for (uint32_t i = 0; i < l.length; ++i) fn(c, l.ring[(l.head + i) & l.mask]);
    }
  }

 private:
  struct List {
    std::vector<ObjectRef> ring;  // power-of-two size, grown on demand
    uint32_t head = 0;            // index of the oldest object
    uint32_t length = 0;
    uint32_t mask = ~0u;          // ring.size() - 1 (ring empty: length == mask + 1)
  };

  absl::StatusOr<ObjectRef> Refill(uint32_t cls);
  void Grow(List& l);
  // Returns the n oldest objects of class cls to its central list.
  void ReturnOldest(uint32_t cls, uint32_t n);
  void Overflow(uint32_t cls);

  const SizeClasses* classes_;
  std::vector<CentralFreeList>* centrals_;
  const uint64_t capacity_;
  const ReturnPolicy policy_;
  std::vector<List> lists_;            // indexed by class; [0] unused
  std::vector<uint32_t> max_length_;   // indexed by class
  std::vector<ObjectRef> transfer_;    // scratch for one batch
  uint64_t bytes_ = 0;
  uint64_t transfers_ = 0;
  uint32_t trim_cursor_ = 1;           // next class trimmed when over capacity
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_THREAD_CACHE_H_
