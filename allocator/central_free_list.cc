#include "allocator/central_free_list.h"

#include <bit>

#include "absl/strings/str_cat.h"

namespace atr::alloc {

CentralFreeList::CentralFreeList(uint32_t cls, const SizeClassInfo& info,
                                 const Config& cfg, PageHeap* page_heap)
    : cls_(cls),
      info_(info),
      num_lists_(cfg.span_policy == SpanPolicy::kFullest
                     ? static_cast<uint32_t>(cfg.occupancy_lists)
                     : 1),
      page_heap_(page_heap),
      heads_(num_lists_, kNoSpan) {}

void CentralFreeList::Link(SpanId id, uint8_t list) {
  Span& s = page_heap_->span(id);
  s.bucket = list;
  s.prev = kNoSpan;
  s.next = heads_[list];
  if (s.next != kNoSpan) page_heap_->span(s.next).prev = id;
  heads_[list] = id;
  nonempty_ |= uint64_t{1} << list;
}

void CentralFreeList::Unlink(SpanId id) {
  Span& s = page_heap_->span(id);
  if (s.prev != kNoSpan) {
    page_heap_->span(s.prev).next = s.next;
  } else {
    heads_[s.bucket] = s.next;
    if (s.next == kNoSpan) nonempty_ &= ~(uint64_t{1} << s.bucket);
  }
  if (s.next != kNoSpan) page_heap_->span(s.next).prev = s.prev;
  s.prev = s.next = kNoSpan;
  s.bucket = kNotListed;
}

absl::StatusOr<SpanId> CentralFreeList::NewSpan() {
  absl::StatusOr<SpanId> id =
      page_heap_->Allocate(info_.pages, 1, SpanKind::kSmall);
  if (!id.ok()) return id;
  uint32_t slab;
  if (!free_slabs_.empty()) {
    slab = free_slabs_.back();
    free_slabs_.pop_back();
  } else {
    slab = slabs_++;
    slots_.resize(size_t{slabs_} * info_.capacity);
  }
  Span& s = page_heap_->span(*id);
  s.size_class = static_cast<uint16_t>(cls_);
  s.slab = slab;
  s.free_head = kNoSlot;
  s.carved = 0;
  s.allocated = 0;
  s.cached = 0;
  s.bucket = kNotListed;
  ++spans_;
  return id;
}

void CentralFreeList::ReturnSpan(SpanId id) {
  Span& s = page_heap_->span(id);
  // Slots [0, carved) are all kFreeSlot here; reset them for the next owner
  // of the slab so "never carved" needs no state of its own.
  size_t base = size_t{s.slab} * info_.capacity;
  for (size_t i = base; i < base + s.carved; ++i) slots_[i].state = kFreeSlot;
  free_slabs_.push_back(s.slab);
  --spans_;
  page_heap_->Free(id);
}

absl::StatusOr<int> CentralFreeList::RemoveRange(ObjectRef* out, int n) {
  int got = 0;
  while (got < n) {
    SpanId id;
    if (nonempty_ != 0) {
      // mru: the only list. fullest: the list of the fullest spans, so that
      // emptier spans get a chance to drain and return to the page heap.
      id = heads_[63 - std::countl_zero(nonempty_)];
    } else {
      absl::StatusOr<SpanId> fresh = NewSpan();
      if (!fresh.ok()) {
        if (got > 0) break;
        return fresh.status();
      }
      id = *fresh;
    }
    Span& s = page_heap_->span(id);
    size_t base = size_t{s.slab} * info_.capacity;
    uint32_t taken = 0;
    while (got < n && s.allocated + taken < info_.capacity) {
      uint32_t slot;
      if (s.free_head != kNoSlot) {
        slot = s.free_head;
        s.free_head = static_cast<uint32_t>(slots_[base + slot].id);
      } else {
        slot = s.carved++;
      }
      slots_[base + slot].state = kCachedSlot;
      out[got++] = ObjectRef{id, slot};
      ++taken;
    }
    s.allocated += taken;
    s.cached += taken;
    allocated_ += taken;
    uint8_t list = s.allocated == info_.capacity ? kNotListed : ListFor(s);
    if (list != s.bucket) {
      if (s.bucket != kNotListed) Unlink(id);
      if (list != kNotListed) Link(id, list);
    }
  }
  return got;
}

void CentralFreeList::InsertRange(const ObjectRef* objs, int n) {
  for (int i = 0; i < n; ++i) {
    SpanId id = objs[i].span;
    Span& s = page_heap_->span(id);
    size_t idx = size_t{s.slab} * info_.capacity + objs[i].slot;
    slots_[idx].state = kFreeSlot;
    slots_[idx].id = s.free_head;
    s.free_head = objs[i].slot;
    --s.allocated;
    --s.cached;
    --allocated_;
    if (s.allocated == 0) {
      if (s.bucket != kNotListed) Unlink(id);
      ReturnSpan(id);
      continue;
    }
    uint8_t list = ListFor(s);
    // mru moves the span to the front on every use; fullest only when its
    // occupancy list changes.
    if (list != s.bucket || num_lists_ == 1) {
      if (s.bucket != kNotListed) Unlink(id);
      Link(id, list);
    }
  }
}

absl::Status CentralFreeList::Validate() const {
  auto fail = [&](auto&&... parts) {
    return absl::InternalError(
        absl::StrCat("central list of class ", cls_, ": ", parts...));
  };
  uint64_t listed = 0;
  for (uint32_t l = 0; l < num_lists_; ++l) {
    if (((nonempty_ >> l) & 1) != (heads_[l] != kNoSpan)) {
      return fail("nonempty mask wrong for list ", l);
    }
    SpanId prev = kNoSpan;
    for (SpanId id = heads_[l]; id != kNoSpan;
         id = page_heap_->span(id).next) {
      const Span& s = page_heap_->span(id);
      if (s.kind != SpanKind::kSmall || s.size_class != cls_ ||
          s.bucket != l || s.prev != prev) {
        return fail("span ", id, " wrongly linked on list ", l);
      }
      if (s.allocated == 0 || s.allocated >= info_.capacity) {
        return fail("span ", id, " listed with ", s.allocated, " allocated");
      }
      if (num_lists_ > 1 && ListFor(s) != l) {
        return fail("span ", id, " on the wrong occupancy list");
      }
      prev = id;
      if (++listed > spans_) return fail("list cycle");
    }
  }
  return absl::OkStatus();
}

}  // namespace atr::alloc
