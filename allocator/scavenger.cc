#include "allocator/scavenger.h"

#include <algorithm>
#include <vector>

namespace atr::alloc {

Scavenger::Scavenger(const Config& cfg, PageHeap* page_heap)
    : policy_(cfg.scavenge_policy),
      idle_events_(cfg.scavenge_idle_events),
      target_percent_(cfg.scavenge_target_percent),
      target_bytes_(cfg.scavenge_target_bytes),
      page_heap_(page_heap) {
  page_heap_->set_observer(this);
}

Scavenger::~Scavenger() { page_heap_->set_observer(nullptr); }

bool Scavenger::Live(const Entry& e) const {
  const Span& s = page_heap_->span(e.run);
  return s.kind == SpanKind::kFree && s.gen == e.gen;
}

void Scavenger::OnFreeRun(SpanId run) {
  const Span& s = page_heap_->span(run);
  switch (policy_) {
    case ScavengePolicy::kOff:
      return;
    case ScavengePolicy::kEager:
      page_heap_->Release(run);
      return;
    case ScavengePolicy::kIdle:
      queue_.push_back({run, s.gen, s.free_since});
      if (queue_.size() == 1) next_deadline_ = s.free_since + idle_events_;
      break;
    case ScavengePolicy::kTarget:
      queue_.push_back({run, s.gen, s.free_since});
      ReleaseAboveTarget();
      break;
  }
  // Stale entries pile up while nothing is old enough to pop; keep the queue
  // proportional to the number of free runs.
  if (queue_.size() > 2 * page_heap_->free_runs() + 1024) Compact();
}

void Scavenger::ReleaseIdle(uint64_t now) {
  while (!queue_.empty() && queue_.front().since + idle_events_ <= now) {
    Entry e = queue_.front();
    queue_.pop_front();
    if (Live(e)) page_heap_->Release(e.run);
  }
  next_deadline_ = queue_.empty() ? std::numeric_limits<uint64_t>::max()
                                  : queue_.front().since + idle_events_;
}

void Scavenger::ReleaseAboveTarget() {
  const uint64_t page = page_heap_->page_size();
  auto over = [&] {
    uint64_t in_use = page_heap_->in_use_pages() * page;
    uint64_t retained =
        in_use + (page_heap_->free_pages() - page_heap_->released_pages()) * page;
    uint64_t limit = std::max(target_bytes_, in_use / 100 * target_percent_ +
                                                 in_use % 100 * target_percent_ / 100);
    return retained > limit;
  };
  // Oldest runs first: they have waited longest for reuse.
  while (!queue_.empty() && over()) {
    Entry e = queue_.front();
    queue_.pop_front();
    if (Live(e)) page_heap_->Release(e.run);
  }
}

void Scavenger::Compact() {
  std::deque<Entry> kept;
  for (const Entry& e : queue_) {
    if (Live(e)) kept.push_back(e);
  }
  queue_.swap(kept);
  if (policy_ == ScavengePolicy::kIdle) {
    next_deadline_ = queue_.empty() ? std::numeric_limits<uint64_t>::max()
                                    : queue_.front().since + idle_events_;
  }
}

void Scavenger::ReleaseAll() {
  std::vector<SpanId> runs;
  page_heap_->ForEachRun([&](SpanId id, const Span& s) {
    if (s.kind == SpanKind::kFree) runs.push_back(id);
  });
  for (SpanId id : runs) page_heap_->Release(id);
  queue_.clear();
  next_deadline_ = std::numeric_limits<uint64_t>::max();
}

}  // namespace atr::alloc
