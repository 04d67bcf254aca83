// The page heap: runs of pages carved into spans over arenas, with coalescing.
//
// Layout: the mapped address space is tiled by runs of pages, each described
// by one Span record: in use (a small-object span or one large object) or
// free. page_map_[p] names the span of page p for every page of an in-use
// span, and for the first and last page of a free run (enough to coalesce).
// Invariants: runs never overlap and tile [0, mapped_pages); no two free runs
// are adjacent; a page's "released" bit is set only while the page is free.
//
// Usage:
//   PageHeap ph(cfg, &address_space, &clock);
//   absl::StatusOr<SpanId> s = ph.Allocate(/*pages=*/4, /*align_pages=*/1,
//                                          SpanKind::kLarge);
//   uint64_t addr = ph.SpanAddress(*s);
//   ph.Free(*s);  // coalesces with free neighbours
#ifndef ATR_ALLOCATOR_PAGE_HEAP_H_
#define ATR_ALLOCATOR_PAGE_HEAP_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "allocator/address_space.h"
#include "allocator/config.h"

namespace atr::alloc {

using SpanId = uint32_t;
inline constexpr SpanId kNoSpan = 0xffffffffu;
inline constexpr uint32_t kNoSlot = 0xffffffffu;

enum class SpanKind : uint8_t {
  kUnused,  // record not in use (on the record free list)
  kFree,    // a free run of pages
  kSmall,   // carved into objects of one size class
  kLarge,   // one object above the largest class
};

// One run of pages. Fields after `kind` belong to the tier that owns the span.
struct Span {
  uint32_t start_page = 0;   // page index from the address-space base
  uint32_t num_pages = 0;    // length of the run
  uint32_t gen = 0;          // bumped when a free run is (re)born; validates
                             // the scavenger's queue entries
  SpanKind kind = SpanKind::kUnused;
  uint8_t bucket = 0;        // central list the span is on (kNotListed: none)
  uint16_t size_class = 0;   // kSmall: its class
  SpanId prev = kNoSpan;     // central list links (kSmall), record free list
  SpanId next = kNoSpan;
  // kSmall
  uint32_t slab = 0;         // its slot records: [slab * capacity, +capacity)
  uint32_t free_head = kNoSlot;  // LIFO list of freed slots, linked via ids
  uint32_t carved = 0;       // slots [0, carved) have been handed out once
  uint32_t allocated = 0;    // slots out of the span: live + in thread caches
  uint32_t cached = 0;       // of `allocated`, those in thread caches
  // kLarge
  uint64_t large_id = 0;         // caller's allocation id
  uint64_t large_requested = 0;  // requested bytes
  // kFree
  uint64_t free_since = 0;   // event clock when the run (re)formed
};

// Told whenever a free run is born (by a free with coalescing, or by an
// aligned carve leaving a run in front): the scavenger's hook.
class FreeRunObserver {
 public:
  virtual ~FreeRunObserver() = default;
  virtual void OnFreeRun(SpanId run) = 0;
};

class PageHeap {
 public:
  // REQUIRES: cfg is valid; `space` and `clock` outlive the page heap.
  PageHeap(const Config& cfg, AddressSpace* space, const uint64_t* clock);

  void set_observer(FreeRunObserver* observer) { observer_ = observer; }

  // A new in-use span of `pages` pages starting at a multiple of
  // `align_pages` pages (relative to the address base, itself arena aligned).
  // Maps arenas when no free run fits. Fails only when the simulated address
  // space (2^32 pages) is exhausted.
  // REQUIRES: pages >= 1, align_pages a power of two, kind kSmall or kLarge.
  absl::StatusOr<SpanId> Allocate(uint64_t pages, uint64_t align_pages,
                                  SpanKind kind);

  // Returns an in-use span's pages; coalesces with free neighbours. Returns
  // the resulting free run (its record may differ from `span`).
  SpanId Free(SpanId span);

  // Releases a free run's pages to the OS. Returns the pages newly released.
  // REQUIRES: span(run).kind == kFree.
  uint64_t Release(SpanId run);

  // The in-use span (kSmall or kLarge) containing addr, or kNoSpan.
  SpanId Lookup(uint64_t addr) const {
    if (addr < space_->base() || addr >= space_->end()) return kNoSpan;
    uint64_t page = (addr - space_->base()) >> page_shift_;
    SpanId id = page_map_[page];
    if (id == kNoSpan) return kNoSpan;
    const Span& s = spans_[id];
    // Interior entries of free runs are stale by design; the range check
    // also rejects stale entries naming a recycled record.
    if ((s.kind != SpanKind::kSmall && s.kind != SpanKind::kLarge) ||
        page < s.start_page || page >= uint64_t{s.start_page} + s.num_pages) {
      return kNoSpan;
    }
    return id;
  }

  Span& span(SpanId id) { return spans_[id]; }
  const Span& span(SpanId id) const { return spans_[id]; }
  uint64_t SpanAddress(const Span& s) const {
    return space_->base() + (uint64_t{s.start_page} << page_shift_);
  }
  uint64_t page_size() const { return uint64_t{1} << page_shift_; }
  int page_shift() const { return page_shift_; }

  // Visits every run (in use or free) in address order.
  template <typename Fn>
  void ForEachRun(Fn fn) const {
    uint64_t page = 0;
    while (page < mapped_pages_) {
      SpanId id = page_map_[page];
      fn(id, spans_[id]);
      page += spans_[id].num_pages;
    }
  }

  // Counters, in pages.
  uint64_t mapped_pages() const { return mapped_pages_; }
  uint64_t in_use_pages() const { return mapped_pages_ - free_pages_; }
  uint64_t free_pages() const { return free_pages_; }          // incl. released
  uint64_t released_pages() const { return released_pages_; }  // free, released
  uint64_t free_runs() const { return free_runs_; }
  uint64_t released_pages_total() const { return released_total_; }
  uint64_t metadata_bytes() const;

  // Checks every invariant in the banner; O(mapped pages).
  absl::Status Validate() const;

 private:
  static constexpr uint64_t kMaxPages = (uint64_t{1} << 32) - 2;

  SpanId NewRecord();
  void DeleteRecord(SpanId id);
  void SetBoundaries(SpanId id);  // page_map_ at a free run's first/last page
  absl::Status Grow(uint64_t pages);
  SpanId FindRun(uint64_t pages) const;
  void IndexInsert(SpanId run);
  void IndexErase(SpanId run);
  void TreeSet(uint64_t page, uint32_t value);
  void TreeRebuild();

  const Config cfg_;
  AddressSpace* space_;
  const uint64_t* clock_;
  FreeRunObserver* observer_ = nullptr;
  int page_shift_;
  uint64_t mapped_pages_ = 0;
  uint64_t free_pages_ = 0;
  uint64_t released_pages_ = 0;
  uint64_t released_total_ = 0;
  uint64_t free_runs_ = 0;

  std::vector<Span> spans_;          // indexed by SpanId
  SpanId free_records_ = kNoSpan;    // recycled records, linked via next
  std::vector<SpanId> page_map_;     // indexed by page
  std::vector<uint64_t> released_;   // one bit per page
  // Free-run index. First fit: a max-tree over pages whose leaf p holds the
  // length of the free run starting at p (Go's summaries play this role).
  // Best fit: runs ordered by (length, start).
  std::vector<uint32_t> tree_;
  uint64_t tree_leaves_ = 0;
  absl::btree_set<std::pair<uint32_t, uint32_t>> by_length_;
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_PAGE_HEAP_H_
