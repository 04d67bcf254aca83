#include "allocator/page_heap.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "allocator/bitmap.h"

namespace atr::alloc {

PageHeap::PageHeap(const Config& cfg, AddressSpace* space,
                   const uint64_t* clock)
    : cfg_(cfg),
      space_(space),
      clock_(clock),
      page_shift_(std::countr_zero(cfg.page_size)) {}

SpanId PageHeap::NewRecord() {
  if (free_records_ != kNoSpan) {
    SpanId id = free_records_;
    free_records_ = spans_[id].next;
    uint32_t gen = spans_[id].gen;
    spans_[id] = Span{};
    spans_[id].gen = gen;  // generations only grow, so stale entries stay stale
    return id;
  }
  spans_.emplace_back();
  return static_cast<SpanId>(spans_.size() - 1);
}

void PageHeap::DeleteRecord(SpanId id) {
  Span& s = spans_[id];
  s.kind = SpanKind::kUnused;
  ++s.gen;
  s.next = free_records_;
  free_records_ = id;
}

void PageHeap::SetBoundaries(SpanId id) {
  const Span& s = spans_[id];
  page_map_[s.start_page] = id;
  page_map_[s.start_page + s.num_pages - 1] = id;
}

void PageHeap::TreeSet(uint64_t page, uint32_t value) {
  uint64_t i = tree_leaves_ + page;
  tree_[i] = value;
  for (i >>= 1; i >= 1; i >>= 1) {
    uint32_t m = std::max(tree_[2 * i], tree_[2 * i + 1]);
    if (tree_[i] == m) break;  // ancestors already agree
    tree_[i] = m;
  }
}

void PageHeap::TreeRebuild() {
  uint64_t leaves = std::bit_ceil(std::max<uint64_t>(mapped_pages_, 1));
  std::vector<uint32_t> tree(2 * leaves, 0);
  for (uint64_t p = 0; p < tree_leaves_; ++p) {
    tree[leaves + p] = tree_[tree_leaves_ + p];
  }
  for (uint64_t i = leaves - 1; i >= 1; --i) {
    tree[i] = std::max(tree[2 * i], tree[2 * i + 1]);
  }
  tree_.swap(tree);
  tree_leaves_ = leaves;
}

void PageHeap::IndexInsert(SpanId run) {
  const Span& s = spans_[run];
  ++free_runs_;
  if (cfg_.fit_policy == FitPolicy::kFirstFit) {
    TreeSet(s.start_page, s.num_pages);
  } else {
    by_length_.insert({s.num_pages, s.start_page});
  }
}

void PageHeap::IndexErase(SpanId run) {
  const Span& s = spans_[run];
  --free_runs_;
  if (cfg_.fit_policy == FitPolicy::kFirstFit) {
    TreeSet(s.start_page, 0);
  } else {
    by_length_.erase({s.num_pages, s.start_page});
  }
}

SpanId PageHeap::FindRun(uint64_t pages) const {
  if (cfg_.fit_policy == FitPolicy::kFirstFit) {
    if (tree_.empty() || tree_[1] < pages) return kNoSpan;
    uint64_t i = 1;
    while (i < tree_leaves_) i = tree_[2 * i] >= pages ? 2 * i : 2 * i + 1;
    return page_map_[i - tree_leaves_];
  }
  if (pages > 0xffffffffu) return kNoSpan;
  auto it = by_length_.lower_bound({static_cast<uint32_t>(pages), 0});
  if (it == by_length_.end()) return kNoSpan;
  return page_map_[it->second];
}

absl::Status PageHeap::Grow(uint64_t pages) {
  uint64_t arena_pages = cfg_.arena_size >> page_shift_;
  uint64_t arenas = (pages + arena_pages - 1) / arena_pages;
  uint64_t new_pages = arenas * arena_pages;
  if (mapped_pages_ + new_pages > kMaxPages) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "simulated address space exhausted: ", mapped_pages_, " pages mapped, ",
        new_pages, " more needed (limit 2^32 pages)"));
  }
  space_->MapArenas(arenas);
  uint64_t first = mapped_pages_;
  mapped_pages_ += new_pages;
  page_map_.resize(mapped_pages_, kNoSpan);
  released_.resize((mapped_pages_ + 63) / 64, 0);
  if (cfg_.fit_policy == FitPolicy::kFirstFit && mapped_pages_ > tree_leaves_) {
    TreeRebuild();
  }
  // Fresh pages were never touched: they count as released (as in Go).
  bitmap::SetRange(released_, first, mapped_pages_);
  released_pages_ += new_pages;
  free_pages_ += new_pages;

  SpanId left = first > 0 ? page_map_[first - 1] : kNoSpan;
  if (left != kNoSpan && spans_[left].kind == SpanKind::kFree &&
      spans_[left].start_page + spans_[left].num_pages == first) {
    // Extend the free run that ends the old space; it keeps its identity (and
    // so its scavenger clock): the added pages are released already.
    IndexErase(left);
    spans_[left].num_pages += static_cast<uint32_t>(new_pages);
    SetBoundaries(left);
    IndexInsert(left);
    return absl::OkStatus();
  }
  SpanId run = NewRecord();
  Span& s = spans_[run];
  s.kind = SpanKind::kFree;
  s.start_page = static_cast<uint32_t>(first);
  s.num_pages = static_cast<uint32_t>(new_pages);
  s.free_since = *clock_;
  SetBoundaries(run);
  IndexInsert(run);
  return absl::OkStatus();
}

absl::StatusOr<SpanId> PageHeap::Allocate(uint64_t pages, uint64_t align_pages,
                                          SpanKind kind) {
  uint64_t need = pages + align_pages - 1;
  if (need > kMaxPages) {
    return absl::ResourceExhaustedError(
        absl::StrCat("request of ", pages, " pages exceeds the address space"));
  }
  SpanId run = FindRun(need);
  if (run == kNoSpan) {
    if (absl::Status st = Grow(need); !st.ok()) return st;
    run = FindRun(need);
  }
  IndexErase(run);
  const uint64_t start = spans_[run].start_page;
  const uint64_t len = spans_[run].num_pages;
  const uint64_t aligned = (start + align_pages - 1) & ~(align_pages - 1);
  const uint64_t prefix = aligned - start;
  const uint64_t suffix = len - prefix - pages;

  SpanId id = NewRecord();  // may reallocate spans_: no references above
  Span& s = spans_[id];
  s.kind = kind;
  s.start_page = static_cast<uint32_t>(aligned);
  s.num_pages = static_cast<uint32_t>(pages);
  std::fill(page_map_.begin() + aligned, page_map_.begin() + aligned + pages,
            id);
  // Reusing released pages takes them back from the OS; they become resident
  // again only when an allocation touches them.
  released_pages_ -= bitmap::ClearRange(released_, aligned, aligned + pages);
  free_pages_ -= pages;

  // The old record keeps the part behind the span, so its scavenger queue
  // entry (and idle clock) stays valid; a part in front gets a new record.
  Span& r = spans_[run];
  if (suffix > 0) {
    r.start_page = static_cast<uint32_t>(aligned + pages);
    r.num_pages = static_cast<uint32_t>(suffix);
    SetBoundaries(run);
    IndexInsert(run);
  } else if (prefix > 0) {
    r.num_pages = static_cast<uint32_t>(prefix);
    SetBoundaries(run);
    IndexInsert(run);
  } else {
    DeleteRecord(run);
  }
  if (suffix > 0 && prefix > 0) {
    uint64_t since = spans_[run].free_since;
    SpanId front = NewRecord();
    Span& f = spans_[front];
    f.kind = SpanKind::kFree;
    f.start_page = static_cast<uint32_t>(start);
    f.num_pages = static_cast<uint32_t>(prefix);
    f.free_since = since;
    SetBoundaries(front);
    IndexInsert(front);
    if (observer_ != nullptr) observer_->OnFreeRun(front);
  }
  return id;
}

SpanId PageHeap::Free(SpanId id) {
  uint64_t start = spans_[id].start_page;
  uint64_t end = start + spans_[id].num_pages;
  free_pages_ += end - start;
  if (start > 0) {
    SpanId left = page_map_[start - 1];
    if (left != kNoSpan && spans_[left].kind == SpanKind::kFree &&
        spans_[left].start_page + spans_[left].num_pages == start) {
      IndexErase(left);
      start = spans_[left].start_page;
      DeleteRecord(left);
    }
  }
  if (end < mapped_pages_) {
    SpanId right = page_map_[end];
    if (right != kNoSpan && spans_[right].kind == SpanKind::kFree &&
        spans_[right].start_page == end) {
      IndexErase(right);
      end += spans_[right].num_pages;
      DeleteRecord(right);
    }
  }
  Span& s = spans_[id];
  uint32_t gen = s.gen + 1;
  s = Span{};
  s.gen = gen;  // a new run: older scavenger entries for this record are stale
  s.kind = SpanKind::kFree;
  s.start_page = static_cast<uint32_t>(start);
  s.num_pages = static_cast<uint32_t>(end - start);
  s.free_since = *clock_;
  SetBoundaries(id);
  IndexInsert(id);
  if (observer_ != nullptr) observer_->OnFreeRun(id);
  return id;
}

uint64_t PageHeap::Release(SpanId run) {
  const Span& s = spans_[run];
  uint64_t n = bitmap::SetRange(released_, s.start_page,
                                uint64_t{s.start_page} + s.num_pages);
  released_pages_ += n;
  released_total_ += n;
  space_->Release(SpanAddress(s), uint64_t{s.num_pages} << page_shift_);
  return n;
}

uint64_t PageHeap::metadata_bytes() const {
  return spans_.capacity() * sizeof(Span) + page_map_.capacity() * 4 +
         released_.capacity() * 8 + tree_.capacity() * 4 +
         by_length_.size() * 16;
}

absl::Status PageHeap::Validate() const {
  auto fail = [](auto&&... parts) {
    return absl::InternalError(absl::StrCat("page heap: ", parts...));
  };
  uint64_t page = 0, free_pages = 0, released = 0, runs = 0;
  bool prev_free = false;
  while (page < mapped_pages_) {
    SpanId id = page_map_[page];
    if (id == kNoSpan || id >= spans_.size()) {
      return fail("page ", page, " has no run");
    }
    const Span& s = spans_[id];
    if (s.start_page != page || s.num_pages == 0 ||
        page + s.num_pages > mapped_pages_) {
      return fail("run ", id, " at page ", page, " has extent [", s.start_page,
                  ", +", s.num_pages, ")");
    }
    uint64_t end = page + s.num_pages;
    uint64_t rel = bitmap::CountRange(released_, page, end);
    if (s.kind == SpanKind::kFree) {
      if (prev_free) return fail("free runs not coalesced at page ", page);
      if (page_map_[end - 1] != id) return fail("free run ", id, " last page");
      bool indexed = cfg_.fit_policy == FitPolicy::kFirstFit
                         ? tree_[tree_leaves_ + page] == s.num_pages
                         : by_length_.contains({s.num_pages, s.start_page});
      if (!indexed) return fail("free run ", id, " missing from index");
      // Released pages hold no resident OS pages.
      for (uint64_t p = page; p < end; ++p) {
        if (bitmap::Test(released_, p) &&
            space_->ResidentBytesIn(space_->base() + (p << page_shift_),
                                    page_size()) != 0) {
          return fail("released page ", p, " is resident");
        }
      }
      free_pages += s.num_pages;
      released += rel;
      ++runs;
      prev_free = true;
    } else if (s.kind == SpanKind::kSmall || s.kind == SpanKind::kLarge) {
      if (rel != 0) return fail("in-use span ", id, " has released pages");
      for (uint64_t p = page; p < end; ++p) {
        if (page_map_[p] != id) return fail("page ", p, " not mapped to ", id);
      }
      if (cfg_.fit_policy == FitPolicy::kFirstFit &&
          tree_[tree_leaves_ + page] != 0) {
        return fail("in-use span ", id, " in the free index");
      }
      prev_free = false;
    } else {
      return fail("page ", page, " maps to an unused record ", id);
    }
    page = end;
  }
  if (free_pages != free_pages_ || released != released_pages_ ||
      runs != free_runs_) {
    return fail("counters: free ", free_pages_, " vs ", free_pages,
                ", released ", released_pages_, " vs ", released, ", runs ",
                free_runs_, " vs ", runs);
  }
  if (cfg_.fit_policy == FitPolicy::kBestFit && by_length_.size() != runs) {
    return fail("best-fit index has ", by_length_.size(), " runs, not ", runs);
  }
  return absl::OkStatus();
}

}  // namespace atr::alloc
