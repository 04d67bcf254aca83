// The allocator model's facade: a TCMalloc / Go-runtime style tiered heap
// over a simulated address space, driven by a replayed operation sequence.
//
// Layout (tiers, top to bottom): ThreadCache per recorded thread ->
// CentralFreeList per size class -> PageHeap of spans over 64 MiB arenas ->
// AddressSpace (residency per OS page); the Scavenger releases free page
// runs. Objects above the largest class are page-heap spans of their own.
// Invariants: addresses are a pure function of the operation sequence and
// the Config; no two live objects overlap; every HeapStats counter is exact
// after every call (see docs/allocator.md for the definitions and the sums
// they obey). Not thread-safe: a replay drives one Heap from one thread.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(Config{});
//   ThreadCacheId t = (*heap)->CreateThreadCache();
//   absl::StatusOr<uint64_t> p = (*heap)->Allocate(t, 100, 16, /*id=*/7);
//   absl::Status st = (*heap)->Free(t, *p);   // a second Free is an error
//   HeapStats s = (*heap)->Stats();
#ifndef ATR_ALLOCATOR_HEAP_H_
#define ATR_ALLOCATOR_HEAP_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "allocator/address_space.h"
#include "allocator/central_free_list.h"
#include "allocator/config.h"
#include "allocator/page_heap.h"
#include "allocator/scavenger.h"
#include "allocator/size_classes.h"
#include "allocator/thread_cache.h"

namespace atr::alloc {

using ThreadCacheId = uint32_t;
using AllocationId = uint64_t;

// Whole-heap counters; docs/allocator.md defines each one. In bytes unless
// named otherwise. They obey:
//   allocated = live_requested + internal_waste
//   in_use_span = allocated + span_tail + free_slot + thread_cache
//   mapped = in_use_span + free_retained + released
//   resident <= in_use_span + free_retained
struct HeapStats {
  uint64_t now = 0;                   // event clock
  uint64_t live_objects = 0;
  uint64_t live_requested_bytes = 0;  // sum of requested sizes of live objects
  uint64_t allocated_bytes = 0;       // class size, or span bytes if large
  uint64_t internal_waste_bytes = 0;  // allocated - requested
  uint64_t span_tail_bytes = 0;       // unusable ends of small spans
  uint64_t free_slot_bytes = 0;       // free slots in in-use small spans
  uint64_t thread_cache_bytes = 0;    // free objects held by thread caches
  uint64_t in_use_span_bytes = 0;     // pages of small and large spans
  uint64_t free_retained_bytes = 0;   // free pages not released
  uint64_t released_bytes = 0;        // free pages released (or never used)
  uint64_t resident_bytes = 0;        // modelled RSS: resident OS pages
  uint64_t mapped_bytes = 0;          // arenas mapped
  uint64_t small_spans = 0;
  uint64_t large_spans = 0;
  uint64_t free_runs = 0;
  uint64_t metadata_bytes = 0;        // memory this model itself uses
  // Traffic between tiers: how often a real allocator would take a lock.
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t central_transfers = 0;     // batches between caches and central
  uint64_t pages_released_total = 0;  // cumulative pages given to the OS

  // 1 - live / resident; 0 when nothing is resident.
  double Fragmentation() const {
    return resident_bytes == 0
               ? 0.0
               : 1.0 - static_cast<double>(live_requested_bytes) /
                           static_cast<double>(resident_bytes);
  }
};

// Counters of one size class.
struct SizeClassStats {
  uint32_t size_class = 0;
  uint32_t object_size = 0;
  uint32_t pages_per_span = 0;
  uint32_t objects_per_span = 0;
  uint64_t spans = 0;
  uint64_t live_objects = 0;
  uint64_t live_requested_bytes = 0;
  uint64_t cached_objects = 0;     // in thread caches
  uint64_t free_slots = 0;         // free in the class's spans
  // Spans by live objects / capacity: bucket i holds [i/10, (i+1)/10), the
  // last bucket also 1.0. Objects in thread caches do not count as live.
  std::array<uint64_t, 10> utilization_histogram{};
};

// What ForEachSpan reports for one in-use span. Views are valid only during
// the callback.
struct SpanView {
  SpanId span = kNoSpan;
  uint64_t address = 0;
  uint32_t pages = 0;
  uint32_t size_class = 0;    // 0: a large object
  uint64_t object_size = 0;   // class size, or span bytes if large
  uint32_t capacity = 0;      // objects the span holds (1 if large)
  uint32_t cached = 0;        // objects sitting in thread caches
  uint64_t live_requested_bytes = 0;
  absl::Span<const AllocationId> live_ids;    // in address order
  absl::Span<const uint64_t> live_addresses;  // parallel to live_ids
};

// One live object, as Lookup finds it.
struct ObjectInfo {
  uint64_t address = 0;  // start of the object
  AllocationId id = 0;
  uint64_t requested_bytes = 0;
  uint64_t usable_bytes = 0;  // class size, or span bytes if large
  uint32_t size_class = 0;    // 0: large
  SpanId span = kNoSpan;
};

class Heap {
 public:
  // Fails with InvalidArgument when ValidateConfig(cfg) does.
  static absl::StatusOr<std::unique_ptr<Heap>> Create(const Config& cfg);
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // One per recorded thread; ids are 0, 1, 2, ... in creation order.
  ThreadCacheId CreateThreadCache();
  // Returns every object the cache holds to the central lists (thread exit).
  absl::Status FlushThreadCache(ThreadCacheId tc);

  // Allocates `size` bytes aligned to `alignment` (a power of two; 0 means
  // the natural 8) for the caller's allocation `id`. Ticks the clock once.
  // Errors: InvalidArgument (bad thread cache or alignment),
  // ResourceExhausted (simulated address space full).
  absl::StatusOr<uint64_t> Allocate(ThreadCacheId tc, uint64_t size,
                                    uint64_t alignment, AllocationId id);

  // Frees the object starting at `address`. Ticks the clock once. Errors,
  // never a crash: NotFound (address in no live span: never allocated, or a
  // large object already freed), FailedPrecondition (double free of a small
  // object, or a slot never handed out), InvalidArgument (not the start of
  // an object; bad thread cache). Freeing 0 is a no-op, as in C.
  absl::Status Free(ThreadCacheId tc, uint64_t address);

  // The live object containing `address` (which may point inside it).
  absl::StatusOr<ObjectInfo> Lookup(uint64_t address) const;

  // Advances the event clock, e.g. for trace events that are not heap
  // operations; the idle scavenger measures time on this clock.
  void Tick(uint64_t events = 1);
  uint64_t now() const { return clock_; }
  uint64_t resident_bytes() const { return space_.resident_bytes(); }  // O(1): Stats().resident_bytes

  // Releases every free page run to the OS now, whatever the policy.
  void ReleaseFreeMemory() { scavenger_->ReleaseAll(); }

  HeapStats Stats() const;
  std::vector<SizeClassStats> ClassStats() const;  // [0] is unused

  // Visits every in-use span (small and large) in address order.
  void ForEachSpan(absl::FunctionRef<void(const SpanView&)> fn) const;

  // Recomputes every counter from the structures and checks every invariant
  // of every tier; O(heap). For tests and --paranoid replays.
  absl::Status Validate() const;

  const Config& config() const { return cfg_; }
  const SizeClasses& size_classes() const { return classes_; }

 private:
  Heap(const Config& cfg, SizeClasses classes);
  absl::StatusOr<uint64_t> AllocateLarge(uint64_t size, uint64_t alignment,
                                         AllocationId id);
  absl::Status FreeLarge(SpanId id, uint64_t address);
  void AdvanceClock() {
    ++clock_;
    scavenger_->Advance(clock_);
  }

  const Config cfg_;
  const SizeClasses classes_;
  const int page_shift_;
  uint64_t clock_ = 0;
  AddressSpace space_;
  PageHeap page_heap_;
  std::unique_ptr<Scavenger> scavenger_;
  std::vector<CentralFreeList> centrals_;  // indexed by class; [0] unused
  std::vector<std::unique_ptr<ThreadCache>> caches_;
  std::vector<uint64_t> class_live_;       // per class: live objects
  std::vector<uint64_t> class_requested_;  // per class: live requested bytes

  uint64_t live_objects_ = 0;
  uint64_t live_requested_ = 0;
  uint64_t small_allocated_ = 0;   // class sizes of live small objects
  uint64_t large_allocated_ = 0;   // span bytes of live large objects
  uint64_t large_spans_ = 0;
  uint64_t allocations_ = 0;
  uint64_t frees_ = 0;
  uint64_t direct_transfers_ = 0;  // central accesses with no thread cache
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_HEAP_H_
