#include "allocator/thread_cache.h"

#include <algorithm>

namespace atr::alloc {

ThreadCache::ThreadCache(const Config& cfg, const SizeClasses* classes,
                         std::vector<CentralFreeList>* centrals)
    : classes_(classes),
      centrals_(centrals),
      capacity_(cfg.thread_cache_bytes),
      policy_(cfg.thread_cache_return),
      lists_(classes->num_classes()),
      max_length_(classes->num_classes(), 0) {
  uint32_t max_batch = 1;
  for (uint32_t c = 1; c < classes->num_classes(); ++c) {
    const SizeClassInfo& info = classes->info(c);
    // A list may hold at least one object, and never more than fits the
    // byte capacity on its own.
    max_length_[c] = static_cast<uint32_t>(std::clamp<uint64_t>(
        capacity_ / info.size, 1, cfg.thread_cache_max_objects));
    max_batch = std::max(max_batch, info.batch);
  }
  transfer_.resize(max_batch);
}

void ThreadCache::Grow(List& l) {
  uint32_t old_size = l.mask + 1;  // 0 when the ring is empty
  uint32_t new_size = old_size == 0 ? 8 : old_size * 2;
  std::vector<ObjectRef> ring(new_size);
  for (uint32_t i = 0; i < l.length; ++i) ring[i] = l.ring[(l.head + i) & l.mask];
  l.ring.swap(ring);
  l.head = 0;
  l.mask = new_size - 1;
}

absl::StatusOr<ObjectRef> ThreadCache::Refill(uint32_t cls) {
  const SizeClassInfo& info = classes_->info(cls);
  uint32_t want = std::min(info.batch, max_length_[cls] + 1);
  absl::StatusOr<int> got = (*centrals_)[cls].RemoveRange(transfer_.data(),
                                                          static_cast<int>(want));
  if (!got.ok()) return got.status();
  ++transfers_;
  // The first object fetched is handed out; the rest are cached so the next
  // got - 1 allocations stay local. transfer_[0] is handed out so that a
  // fresh span is consumed in address order.
  List& l = lists_[cls];
  for (int i = *got - 1; i >= 1; --i) {
    if (l.length == l.mask + 1) Grow(l);
    l.ring[(l.head + l.length) & l.mask] = transfer_[i];
    ++l.length;
  }
  bytes_ += uint64_t{info.size} * static_cast<uint64_t>(*got - 1);
  ObjectRef out = transfer_[0];
  if (bytes_ > capacity_) Overflow(cls);
  return out;
}

void ThreadCache::ReturnOldest(uint32_t cls, uint32_t n) {
  List& l = lists_[cls];
  n = std::min(n, l.length);
  uint32_t done = 0;
  while (done < n) {
    uint32_t chunk = std::min<uint32_t>(n - done, transfer_.size());
    for (uint32_t i = 0; i < chunk; ++i) {
      transfer_[i] = l.ring[l.head];
      l.head = (l.head + 1) & l.mask;
    }
    l.length -= chunk;
    bytes_ -= uint64_t{classes_->info(cls).size} * chunk;
    (*centrals_)[cls].InsertRange(transfer_.data(), static_cast<int>(chunk));
    ++transfers_;
    done += chunk;
  }
}

void ThreadCache::Overflow(uint32_t cls) {
  if (lists_[cls].length > max_length_[cls]) {
    ReturnOldest(cls, policy_ == ReturnPolicy::kAll
                          ? lists_[cls].length
                          : classes_->info(cls).batch);
  }
  // Over the byte capacity: trim lists round-robin, so no class is starved
  // and the order (hence the addresses handed out later) is deterministic.
  uint32_t n = static_cast<uint32_t>(lists_.size());
  while (bytes_ > capacity_) {
    uint32_t c = trim_cursor_;
    trim_cursor_ = trim_cursor_ + 1 < n ? trim_cursor_ + 1 : 1;
    if (lists_[c].length == 0) continue;
    ReturnOldest(c, policy_ == ReturnPolicy::kAll ? lists_[c].length
                                                  : classes_->info(c).batch);
  }
}

void ThreadCache::Flush() {
  for (uint32_t c = 1; c < lists_.size(); ++c) ReturnOldest(c, lists_[c].length);
}

uint64_t ThreadCache::metadata_bytes() const {
  uint64_t n = lists_.capacity() * sizeof(List) + max_length_.capacity() * 4 +
               transfer_.capacity() * sizeof(ObjectRef);
  for (const List& l : lists_) n += l.ring.capacity() * sizeof(ObjectRef);
  return n;
}

}  // namespace atr::alloc
