// The scavenger: gives free page runs back to the (simulated) OS.
//
// Layout: a FIFO of (run, generation) entries, one per free run at the time
// the run formed, oldest first. An entry is stale once its run was taken,
// merged or deleted (the record's generation moved on); stale entries are
// skipped. Policies: off; eager (release every run as it forms); idle (release
// a run once it has been free for idle_events events); target (release the
// oldest runs while in-use + free retained pages exceed the target).
// Invariant: every free run holding retained (unreleased) pages has a live
// entry, unless the policy is off or eager.
//
// Usage:
//   Scavenger scav(cfg, &page_heap);   // registers itself as the observer
//   scav.Advance(now);                 // on every tick of the event clock
#ifndef ATR_ALLOCATOR_SCAVENGER_H_
#define ATR_ALLOCATOR_SCAVENGER_H_

#include <cstdint>
#include <deque>
#include <limits>

#include "allocator/config.h"
#include "allocator/page_heap.h"

namespace atr::alloc {

class Scavenger : public FreeRunObserver {
 public:
  // REQUIRES: page_heap outlives the scavenger.
  Scavenger(const Config& cfg, PageHeap* page_heap);
  ~Scavenger() override;

  void OnFreeRun(SpanId run) override;

  // Called whenever the event clock moves; cheap until the oldest entry's
  // idle deadline passes.
  void Advance(uint64_t now) {
    if (now >= next_deadline_) ReleaseIdle(now);
  }

  // Releases every free run now, whatever the policy (like
  // MallocExtension::ReleaseMemoryToSystem).
  void ReleaseAll();

  uint64_t queued() const { return queue_.size(); }
  uint64_t metadata_bytes() const { return queue_.size() * sizeof(Entry); }

 private:
  struct Entry {
    SpanId run;
    uint32_t gen;
    uint64_t since;  // event clock when the run formed
  };
  bool Live(const Entry& e) const;
  void ReleaseIdle(uint64_t now);
  void ReleaseAboveTarget();
  void Compact();

  const ScavengePolicy policy_;
  const uint64_t idle_events_;
  const uint64_t target_percent_;
  const uint64_t target_bytes_;
  PageHeap* page_heap_;
  std::deque<Entry> queue_;
  uint64_t next_deadline_ = std::numeric_limits<uint64_t>::max();
};

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_SCAVENGER_H_
