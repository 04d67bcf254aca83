#include "allocator/heap.h"

#include <algorithm>
#include <bit>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace atr::alloc {
namespace {

std::string Hex(uint64_t v) { return absl::StrCat("0x", absl::Hex(v)); }

// Requests above this cannot be served by 2^32 pages of any valid page size;
// rejecting them early keeps the page arithmetic free of overflow.
constexpr uint64_t kMaxRequest = uint64_t{1} << 56;

}  // namespace

absl::StatusOr<std::unique_ptr<Heap>> Heap::Create(const Config& cfg) {
  if (absl::Status st = ValidateConfig(cfg); !st.ok()) return st;
  absl::StatusOr<SizeClasses> classes = SizeClasses::Create(cfg);
  if (!classes.ok()) return classes.status();
  return std::unique_ptr<Heap>(new Heap(cfg, *std::move(classes)));
}

Heap::Heap(const Config& cfg, SizeClasses classes)
    : cfg_(cfg),
      classes_(std::move(classes)),
      page_shift_(std::countr_zero(cfg.page_size)),
      space_(cfg.address_base, cfg.arena_size, cfg.os_page_size),
      page_heap_(cfg, &space_, &clock_),
      scavenger_(std::make_unique<Scavenger>(cfg, &page_heap_)),
      class_live_(classes_.num_classes(), 0),
      class_requested_(classes_.num_classes(), 0) {
  // Reserved up front: thread caches keep a pointer to this vector and the
  // lists must never move.
  centrals_.reserve(classes_.num_classes());
  for (uint32_t c = 0; c < classes_.num_classes(); ++c) {
    centrals_.emplace_back(c, classes_.info(c), cfg_, &page_heap_);
  }
}

Heap::~Heap() = default;

ThreadCacheId Heap::CreateThreadCache() {
  caches_.push_back(cfg_.thread_cache_bytes == 0
                        ? nullptr
                        : std::make_unique<ThreadCache>(cfg_, &classes_,
                                                        &centrals_));
  return static_cast<ThreadCacheId>(caches_.size() - 1);
}

absl::Status Heap::FlushThreadCache(ThreadCacheId tc) {
  if (tc >= caches_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown thread cache ", tc));
  }
  if (caches_[tc] != nullptr) caches_[tc]->Flush();
  return absl::OkStatus();
}

void Heap::Tick(uint64_t events) {
  clock_ += events;
  scavenger_->Advance(clock_);
}

absl::StatusOr<uint64_t> Heap::Allocate(ThreadCacheId tc, uint64_t size,
                                        uint64_t alignment, AllocationId id) {
  AdvanceClock();
  if (tc >= caches_.size()) [[unlikely]] {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown thread cache ", tc));
  }
  if ((alignment & (alignment - 1)) != 0) [[unlikely]] {
    return absl::InvalidArgumentError(
        absl::StrCat("alignment ", alignment, " is not a power of two"));
  }
  const uint32_t cls = classes_.ClassFor(size, alignment);
  if (cls == 0) return AllocateLarge(size, alignment, id);

  ObjectRef ref;
  if (ThreadCache* cache = caches_[tc].get(); cache != nullptr) [[likely]] {
    absl::StatusOr<ObjectRef> got = cache->Allocate(cls);
    if (!got.ok()) [[unlikely]] return got.status();
    ref = *got;
  } else {
    absl::StatusOr<int> got = centrals_[cls].RemoveRange(&ref, 1);
    if (!got.ok()) return got.status();
    ++direct_transfers_;
  }
  const SizeClassInfo& info = classes_.info(cls);
  CentralFreeList& central = centrals_[cls];
  Span& s = page_heap_.span(ref.span);
  --s.cached;
  const uint64_t address =
      page_heap_.SpanAddress(s) + uint64_t{ref.slot} * info.size;
  central.id(ref) = id;
  central.state(ref) = static_cast<uint32_t>(size);
  space_.Touch(address, size == 0 ? 1 : size);
  ++live_objects_;
  ++allocations_;
  live_requested_ += size;
  small_allocated_ += info.size;
  ++class_live_[cls];
  class_requested_[cls] += size;
  return address;
}

absl::StatusOr<uint64_t> Heap::AllocateLarge(uint64_t size, uint64_t alignment,
                                             AllocationId id) {
  if (size > kMaxRequest || alignment > kMaxRequest) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "request of ", size, " bytes aligned to ", alignment,
        " exceeds the simulated address space"));
  }
  const uint64_t page = uint64_t{1} << page_shift_;
  const uint64_t pages = (std::max<uint64_t>(size, 1) + page - 1) >> page_shift_;
  const uint64_t align_pages = alignment > page ? alignment >> page_shift_ : 1;
  // The base is arena aligned; larger alignments are relative to the base.
  absl::StatusOr<SpanId> sid =
      page_heap_.Allocate(pages, align_pages, SpanKind::kLarge);
  if (!sid.ok()) return sid.status();
  Span& s = page_heap_.span(*sid);
  s.large_id = id;
  s.large_requested = size;
  const uint64_t address = page_heap_.SpanAddress(s);
  space_.Touch(address, size == 0 ? 1 : size);
  ++live_objects_;
  ++allocations_;
  ++large_spans_;
  live_requested_ += size;
  large_allocated_ += pages << page_shift_;
  return address;
}

absl::Status Heap::Free(ThreadCacheId tc, uint64_t address) {
  AdvanceClock();
  if (tc >= caches_.size()) [[unlikely]] {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown thread cache ", tc));
  }
  if (address == 0) return absl::OkStatus();
  const SpanId sid = page_heap_.Lookup(address);
  if (sid == kNoSpan) [[unlikely]] {
    return absl::NotFoundError(absl::StrCat(
        "free of ", Hex(address),
        ": not inside any live allocation (never allocated, or already "
        "freed)"));
  }
  Span& s = page_heap_.span(sid);
  if (s.kind == SpanKind::kLarge) return FreeLarge(sid, address);

  const uint32_t cls = s.size_class;
  const SizeClassInfo& info = classes_.info(cls);
  const uint64_t offset = address - page_heap_.SpanAddress(s);
  const uint64_t slot = offset / info.size;
  if (slot * info.size != offset || slot >= info.capacity) [[unlikely]] {
    return absl::InvalidArgumentError(absl::StrCat(
        "free of ", Hex(address), ": not the start of an object (objects of ",
        info.size, " bytes start at ",
        Hex(page_heap_.SpanAddress(s) + std::min<uint64_t>(slot, info.capacity - 1) * info.size),
        ")"));
  }
  CentralFreeList& central = centrals_[cls];
  const ObjectRef ref{sid, static_cast<uint32_t>(slot)};
  uint32_t& state = central.state(ref);
  if (state >= kCachedSlot) [[unlikely]] {
    return absl::FailedPreconditionError(absl::StrCat(
        "free of ", Hex(address), ": the object is not live (double free, or "
        "an address the allocator never returned)"));
  }
  --live_objects_;
  ++frees_;
  live_requested_ -= state;
  small_allocated_ -= info.size;
  --class_live_[cls];
  class_requested_[cls] -= state;
  state = kCachedSlot;
  ++s.cached;
  if (ThreadCache* cache = caches_[tc].get(); cache != nullptr) [[likely]] {
    cache->Deallocate(cls, ref);
  } else {
    central.InsertRange(&ref, 1);
    ++direct_transfers_;
  }
  return absl::OkStatus();
}

absl::Status Heap::FreeLarge(SpanId sid, uint64_t address) {
  Span& s = page_heap_.span(sid);
  const uint64_t start = page_heap_.SpanAddress(s);
  if (address != start) {
    return absl::InvalidArgumentError(
        absl::StrCat("free of ", Hex(address),
                     ": not the start of an object (the large object there "
                     "starts at ",
                     Hex(start), ")"));
  }
  --live_objects_;
  ++frees_;
  --large_spans_;
  live_requested_ -= s.large_requested;
  large_allocated_ -= uint64_t{s.num_pages} << page_shift_;
  page_heap_.Free(sid);
  return absl::OkStatus();
}

absl::StatusOr<ObjectInfo> Heap::Lookup(uint64_t address) const {
  const SpanId sid = page_heap_.Lookup(address);
  auto not_found = [&] {
    return absl::NotFoundError(
        absl::StrCat(Hex(address), " is not inside a live object"));
  };
  if (sid == kNoSpan) return not_found();
  const Span& s = page_heap_.span(sid);
  ObjectInfo info;
  info.span = sid;
  if (s.kind == SpanKind::kLarge) {
    info.address = page_heap_.SpanAddress(s);
    info.id = s.large_id;
    info.requested_bytes = s.large_requested;
    info.usable_bytes = uint64_t{s.num_pages} << page_shift_;
    return info;
  }
  const SizeClassInfo& ci = classes_.info(s.size_class);
  const uint64_t slot = (address - page_heap_.SpanAddress(s)) / ci.size;
  if (slot >= ci.capacity) return not_found();
  const ObjectRef ref{sid, static_cast<uint32_t>(slot)};
  const uint32_t state = centrals_[s.size_class].state(ref);
  if (state >= kCachedSlot) return not_found();
  info.address = page_heap_.SpanAddress(s) + slot * ci.size;
  info.id = centrals_[s.size_class].id(ref);
  info.requested_bytes = state;
  info.usable_bytes = ci.size;
  info.size_class = s.size_class;
  return info;
}

HeapStats Heap::Stats() const {
  HeapStats st;
  const uint64_t page = uint64_t{1} << page_shift_;
  uint64_t small_span_bytes = 0, small_capacity_bytes = 0, small_spans = 0;
  for (uint32_t c = 1; c < centrals_.size(); ++c) {
    const SizeClassInfo& info = classes_.info(c);
    const uint64_t spans = centrals_[c].spans();
    small_spans += spans;
    small_span_bytes += spans * info.pages * page;
    small_capacity_bytes += spans * info.capacity * info.size;
  }
  uint64_t cache_bytes = 0, transfers = direct_transfers_, cache_meta = 0;
  for (const auto& cache : caches_) {
    if (cache == nullptr) continue;
    cache_bytes += cache->bytes();
    transfers += cache->transfers();
    cache_meta += cache->metadata_bytes();
  }
  st.now = clock_;
  st.live_objects = live_objects_;
  st.live_requested_bytes = live_requested_;
  st.allocated_bytes = small_allocated_ + large_allocated_;
  st.internal_waste_bytes = st.allocated_bytes - live_requested_;
  st.span_tail_bytes = small_span_bytes - small_capacity_bytes;
  st.thread_cache_bytes = cache_bytes;
  st.free_slot_bytes = small_capacity_bytes - small_allocated_ - cache_bytes;
  st.in_use_span_bytes = page_heap_.in_use_pages() * page;
  st.free_retained_bytes =
      (page_heap_.free_pages() - page_heap_.released_pages()) * page;
  st.released_bytes = page_heap_.released_pages() * page;
  st.resident_bytes = space_.resident_bytes();
  st.mapped_bytes = space_.mapped_bytes();
  st.small_spans = small_spans;
  st.large_spans = large_spans_;
  st.free_runs = page_heap_.free_runs();
  uint64_t meta = sizeof(Heap) + space_.metadata_bytes() +
                  page_heap_.metadata_bytes() + scavenger_->metadata_bytes() +
                  cache_meta + class_live_.capacity() * 16;
  for (const CentralFreeList& c : centrals_) meta += c.metadata_bytes();
  st.metadata_bytes = meta;
  st.allocations = allocations_;
  st.frees = frees_;
  st.central_transfers = transfers;
  st.pages_released_total = page_heap_.released_pages_total();
  return st;
}

std::vector<SizeClassStats> Heap::ClassStats() const {
  std::vector<SizeClassStats> out(classes_.num_classes());
  for (uint32_t c = 1; c < out.size(); ++c) {
    const SizeClassInfo& info = classes_.info(c);
    SizeClassStats& cs = out[c];
    cs.size_class = c;
    cs.object_size = info.size;
    cs.pages_per_span = info.pages;
    cs.objects_per_span = info.capacity;
    cs.spans = centrals_[c].spans();
    cs.live_objects = class_live_[c];
    cs.live_requested_bytes = class_requested_[c];
    for (const auto& cache : caches_) {
      if (cache != nullptr) cs.cached_objects += cache->length(c);
    }
    cs.free_slots = cs.spans * info.capacity - centrals_[c].allocated_objects();
  }
  page_heap_.ForEachRun([&](SpanId, const Span& s) {
    if (s.kind != SpanKind::kSmall) return;
    const uint32_t capacity = classes_.info(s.size_class).capacity;
    const uint64_t live = s.allocated - s.cached;
    ++out[s.size_class].utilization_histogram[std::min<uint64_t>(
        9, live * 10 / capacity)];
  });
  return out;
}

void Heap::ForEachSpan(absl::FunctionRef<void(const SpanView&)> fn) const {
  std::vector<AllocationId> ids;
  std::vector<uint64_t> addresses;
  page_heap_.ForEachRun([&](SpanId sid, const Span& s) {
    if (s.kind != SpanKind::kSmall && s.kind != SpanKind::kLarge) return;
    SpanView v;
    v.span = sid;
    v.address = page_heap_.SpanAddress(s);
    v.pages = s.num_pages;
    ids.clear();
    addresses.clear();
    if (s.kind == SpanKind::kLarge) {
      v.object_size = uint64_t{s.num_pages} << page_shift_;
      v.capacity = 1;
      v.live_requested_bytes = s.large_requested;
      ids.push_back(s.large_id);
      addresses.push_back(v.address);
    } else {
      const SizeClassInfo& info = classes_.info(s.size_class);
      const CentralFreeList& central = centrals_[s.size_class];
      v.size_class = s.size_class;
      v.object_size = info.size;
      v.capacity = info.capacity;
      v.cached = s.cached;
      for (uint32_t slot = 0; slot < s.carved; ++slot) {
        const ObjectRef ref{sid, slot};
        const uint32_t state = central.state(ref);
        if (state >= kCachedSlot) continue;
        ids.push_back(central.id(ref));
        addresses.push_back(v.address + uint64_t{slot} * info.size);
        v.live_requested_bytes += state;
      }
    }
    v.live_ids = ids;
    v.live_addresses = addresses;
    fn(v);
  });
}

absl::Status Heap::Validate() const {
  if (absl::Status st = page_heap_.Validate(); !st.ok()) return st;
  for (const CentralFreeList& c : centrals_) {
    if (absl::Status st = c.Validate(); !st.ok()) return st;
  }
  auto fail = [](auto&&... parts) {
    return absl::InternalError(absl::StrCat("heap: ", parts...));
  };
  // Objects in thread caches, per span.
  absl::flat_hash_map<SpanId, uint32_t> cached_in_span;
  uint64_t cache_bytes = 0;
  absl::Status cache_status = absl::OkStatus();
  for (const auto& cache : caches_) {
    if (cache == nullptr) continue;
    uint64_t bytes = 0;
    cache->ForEachObject([&](uint32_t cls, ObjectRef ref) {
      const Span& s = page_heap_.span(ref.span);
      if (s.kind != SpanKind::kSmall || s.size_class != cls ||
          ref.slot >= s.carved || centrals_[cls].state(ref) != kCachedSlot) {
        cache_status = fail("thread cache holds a bad object (span ",
                            ref.span, ", slot ", ref.slot, ")");
        return;
      }
      ++cached_in_span[ref.span];
      bytes += classes_.info(cls).size;
    });
    if (!cache_status.ok()) return cache_status;
    if (bytes != cache->bytes()) return fail("thread cache byte count");
    if (bytes > cfg_.thread_cache_bytes) return fail("thread cache over capacity");
    for (uint32_t c = 1; c < classes_.num_classes(); ++c) {
      if (cache->length(c) > cache->MaxLength(c)) {
        return fail("thread cache list of class ", c, " too long");
      }
    }
    cache_bytes += bytes;
  }

  uint64_t live = 0, requested = 0, small_alloc = 0, large_alloc = 0,
           large_spans = 0, in_flight = 0;
  std::vector<uint64_t> spans_per_class(classes_.num_classes(), 0);
  std::vector<uint64_t> live_per_class(classes_.num_classes(), 0);
  std::vector<uint64_t> req_per_class(classes_.num_classes(), 0);
  absl::Status span_status = absl::OkStatus();
  page_heap_.ForEachRun([&](SpanId sid, const Span& s) {
    if (!span_status.ok()) return;
    const uint64_t address = page_heap_.SpanAddress(s);
    if (s.kind == SpanKind::kLarge) {
      ++live;
      ++large_spans;
      requested += s.large_requested;
      large_alloc += uint64_t{s.num_pages} << page_shift_;
      if (!space_.IsResident(address)) {
        span_status = fail("large object at ", Hex(address), " not resident");
      }
      return;
    }
    if (s.kind != SpanKind::kSmall) return;
    const uint32_t cls = s.size_class;
    const SizeClassInfo& info = classes_.info(cls);
    const CentralFreeList& central = centrals_[cls];
    ++spans_per_class[cls];
    uint32_t n_live = 0, n_cached = 0, n_free = 0;
    for (uint32_t slot = 0; slot < info.capacity; ++slot) {
      const uint32_t state = central.state(ObjectRef{sid, slot});
      if (slot >= s.carved) {
        if (state != kFreeSlot) {
          span_status = fail("span ", sid, " uncarved slot ", slot, " in use");
          return;
        }
        continue;
      }
      if (state == kFreeSlot) {
        ++n_free;
      } else if (state == kCachedSlot) {
        ++n_cached;
      } else {
        ++n_live;
        requested += state;
        req_per_class[cls] += state;
        if (!space_.IsResident(address + uint64_t{slot} * info.size)) {
          span_status = fail("live object in span ", sid, " not resident");
          return;
        }
      }
    }
    // The free list must hold exactly the free carved slots.
    uint32_t listed = 0;
    for (uint32_t slot = s.free_head; slot != kNoSlot;
         slot = static_cast<uint32_t>(central.id(ObjectRef{sid, slot}))) {
      if (slot >= s.carved ||
          central.state(ObjectRef{sid, slot}) != kFreeSlot ||
          ++listed > n_free) {
        span_status = fail("span ", sid, " free list is corrupt");
        return;
      }
    }
    auto it = cached_in_span.find(sid);
    const uint32_t cached = it == cached_in_span.end() ? 0 : it->second;
    if (listed != n_free || n_live + n_cached != s.allocated ||
        n_cached != s.cached || cached != s.cached || s.allocated == 0) {
      span_status = fail("span ", sid, " counts: live ", n_live, " cached ",
                         n_cached, "/", s.cached, "/", cached, " allocated ",
                         s.allocated, " free ", n_free, "/", listed);
      return;
    }
    in_flight += s.cached;
    live += n_live;
    live_per_class[cls] += n_live;
    small_alloc += uint64_t{n_live} * info.size;
  });
  if (!span_status.ok()) return span_status;
  if (live != live_objects_ || requested != live_requested_ ||
      small_alloc != small_allocated_ || large_alloc != large_allocated_ ||
      large_spans != large_spans_) {
    return fail("counters: live ", live_objects_, " vs ", live, ", requested ",
                live_requested_, " vs ", requested, ", small ",
                small_allocated_, " vs ", small_alloc, ", large ",
                large_allocated_, " vs ", large_alloc);
  }
  uint64_t cached_total = 0;
  for (const auto& [sid, n] : cached_in_span) cached_total += n;
  if (cached_total != in_flight) return fail("objects cached in freed spans");
  for (uint32_t c = 1; c < classes_.num_classes(); ++c) {
    if (spans_per_class[c] != centrals_[c].spans() ||
        live_per_class[c] != class_live_[c] ||
        req_per_class[c] != class_requested_[c]) {
      return fail("per-class counters of class ", c);
    }
  }
  // The accounting identities the docs promise.
  const HeapStats st = Stats();
  if (st.thread_cache_bytes != cache_bytes ||
      st.allocated_bytes != st.live_requested_bytes + st.internal_waste_bytes ||
      st.in_use_span_bytes != st.allocated_bytes + st.span_tail_bytes +
                                  st.free_slot_bytes + st.thread_cache_bytes ||
      st.mapped_bytes !=
          st.in_use_span_bytes + st.free_retained_bytes + st.released_bytes ||
      st.resident_bytes > st.in_use_span_bytes + st.free_retained_bytes) {
    return fail("stats identities do not hold");
  }
  return absl::OkStatus();
}

}  // namespace atr::alloc
