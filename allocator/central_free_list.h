// Central free lists: one per size class, holding the spans that have free
// slots, and the per-object records of every span of the class.
//
// Layout: a span of class c owns `capacity` consecutive slot records in the
// class's slot pool (its slab): the caller's allocation id and a state word
// (requested bytes while live, kCachedSlot while in a thread cache,
// kFreeSlot while free in the span). Free slots form a LIFO list through the
// id words; slots at or past span.carved were never handed out. Spans with
// free slots sit on one of `lists` intrusive lists chosen by occupancy.
// Invariant: span.allocated = live + cached slots; a span with no allocated
// slot goes back to the page heap at once; a full span is on no list.
//
// Usage:
//   CentralFreeList central(cls, classes.info(cls), cfg, &page_heap);
//   ObjectRef objs[32];
//   absl::StatusOr<int> n = central.RemoveRange(objs, 32);  // now kCachedSlot
//   central.InsertRange(objs, *n);                          // back, free
#ifndef ATR_ALLOCATOR_CENTRAL_FREE_LIST_H_
#define ATR_ALLOCATOR_CENTRAL_FREE_LIST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "allocator/config.h"
#include "allocator/page_heap.h"
#include "allocator/size_classes.h"

namespace atr::alloc {

// One object slot: its span and index in the span.
struct ObjectRef {
  SpanId span;
  uint32_t slot;
};

inline constexpr uint32_t kFreeSlot = 0xffffffffu;
inline constexpr uint32_t kCachedSlot = 0xfffffffeu;
inline constexpr uint8_t kNotListed = 0xff;

class CentralFreeList {
 public:
  // REQUIRES: `page_heap` outlives this list; info describes class `cls`.
  CentralFreeList(uint32_t cls, const SizeClassInfo& info, const Config& cfg,
                  PageHeap* page_heap);

  // Moves up to n objects out of spans into out[0..k), marking them
  // kCachedSlot, and returns k >= 1. Takes a new span from the page heap when
  // no span has a free slot; fails only when the address space is exhausted.
  // REQUIRES: 1 <= n <= capacity of one transfer buffer the caller owns.
  absl::StatusOr<int> RemoveRange(ObjectRef* out, int n);

  // Returns objects (each kCachedSlot) to their spans as free slots; spans
  // left empty go back to the page heap.
  void InsertRange(const ObjectRef* objs, int n);

  // Slot records. REQUIRES: ref names a slot of a span of this class.
  uint64_t& id(ObjectRef ref) { return slots_[SlotIndex(ref)].id; }
  uint32_t& state(ObjectRef ref) { return slots_[SlotIndex(ref)].state; }
  uint64_t id(ObjectRef ref) const { return slots_[SlotIndex(ref)].id; }
  uint32_t state(ObjectRef ref) const { return slots_[SlotIndex(ref)].state; }

  const SizeClassInfo& info() const { return info_; }
  uint64_t spans() const { return spans_; }
  // Slots out of spans: live objects + objects in thread caches.
  uint64_t allocated_objects() const { return allocated_; }
  uint64_t metadata_bytes() const {
    return slots_.capacity() * sizeof(Slot) + free_slabs_.capacity() * 4;
  }
  // Number of lists spans are kept on (1 for mru).
  uint32_t num_lists() const { return num_lists_; }
  SpanId list_head(uint32_t list) const { return heads_[list]; }

  // Checks slot states and list membership of every span of the class.
  absl::Status Validate() const;

 private:
  size_t SlotIndex(ObjectRef ref) const {
    return size_t{page_heap_->span(ref.span).slab} * info_.capacity + ref.slot;
  }
  uint8_t ListFor(const Span& s) const {
    return num_lists_ == 1
               ? 0
               : static_cast<uint8_t>(uint64_t{s.allocated} * num_lists_ /
                                      info_.capacity);
  }
  void Link(SpanId id, uint8_t list);  // pushes at the front
  void Unlink(SpanId id);
  absl::StatusOr<SpanId> NewSpan();
  void ReturnSpan(SpanId id);

  const uint32_t cls_;
  const SizeClassInfo info_;
  const uint32_t num_lists_;
  PageHeap* page_heap_;
  uint64_t spans_ = 0;
  uint64_t allocated_ = 0;
  std::vector<SpanId> heads_;     // per list, most recently linked first
  uint64_t nonempty_ = 0;         // bit l set iff heads_[l] != kNoSpan
  // One record per slot; id and state side by side so that an allocation
  // touches one cache line, not two.
  struct Slot {
    uint64_t id = 0;              // caller's id; free: next free slot
    uint32_t state = kFreeSlot;   // requested bytes, kCachedSlot or kFreeSlot
  };
  std::vector<Slot> slots_;       // the class's slot pool, slab after slab
  std::vector<uint32_t> free_slabs_;
  uint32_t slabs_ = 0;
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_CENTRAL_FREE_LIST_H_
