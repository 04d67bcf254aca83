#include "db/pairing.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/schema.h"

namespace atr::db_internal {

void StackTotals::Acquired(const LiveBlock& b) {
  Totals& t = Change(b.stack, b.alloc_seq);
  ++t.calls;
  t.bytes += static_cast<int64_t>(b.size);
  t.live += static_cast<int64_t>(b.size);
}

void StackTotals::Released(const LiveBlock& b, int64_t seq) {
  Change(b.stack, seq).live -= static_cast<int64_t>(b.size);
}

void StackTotals::Unreleased(const LiveBlock& b, int64_t release_seq) {
  Totals& t = totals_[b.stack];  // changed at release_seq: an entry exists
  const auto size = static_cast<int64_t>(b.size);
  if (release_seq <= *peak_seq_ && t.changed_seq > *peak_seq_) t.at_peak += size;
  t.live += size;  // unchanged since the peak: `live` is the peak value, rightly corrected
}

void StackTotals::Leaked(const LiveBlock& b) {
  Totals& t = totals_[b.stack];
  ++t.leaked;
  t.leaked_bytes += static_cast<int64_t>(b.size);
  if (t.first_leak_seq == 0 || b.alloc_seq < t.first_leak_seq) t.first_leak_seq = b.alloc_seq;
}

StackTotals::Totals& StackTotals::Change(int64_t stack, int64_t seq) {
  Totals& t = totals_[stack];
  if (t.changed_seq <= *peak_seq_) t.at_peak = t.live;
  t.changed_seq = seq;
  return t;
}

bool Pairing::AddProcess(int32_t pid, std::optional<int32_t> ppid) {
  bool exact = true;
  if (traced_pids_.insert(pid).second) {
    // A newly traced parent changes the misses of its children.
    for (int32_t missed : missed_pids_) {
      auto it = ppids_.find(missed);
      if (it != ppids_.end() && it->second == pid) exact = false;
    }
  }
  if (ppid) {
    auto [it, inserted] = ppids_.try_emplace(pid, *ppid);
    if (!inserted && it->second != *ppid) {
      it->second = *ppid;
      inserted = true;
    }
    if (inserted && missed_pids_.contains(pid)) exact = false;
  }
  return exact;
}

absl::Status Pairing::OnEvent(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr,
                              uint64_t size, int64_t stack, int64_t tag) {
  OpCount& count = op_counts_[static_cast<uint8_t>(op)];
  ++count.calls;
  count.bytes += static_cast<int64_t>(size);
  if (!pending_.empty()) {
    if (auto it = pending_.find(thread); it != pending_.end()) {
      PendingRealloc p = it->second;
      pending_.erase(it);
      bool realloc_half = op == Op::kRealloc || op == Op::kReallocArray;
      if (realloc_half && addr == 0 && size > 0) {
        // Failed: the old block was never released.
        ++stats_.failed_reallocs;
        if (p.was_live) return Reopen(p);
        return absl::OkStatus();  // nothing acquired either
      }
      if (p.was_live) {
        ++stats_.releases;
        ATR_RETURN_IF_ERROR(Close(p.block, p.release_seq));
      }
    }
  }
  if (op == Op::kProcessStart) return EndImage(pid);
  if (!IsHeapOp(op)) return absl::OkStatus();
  OpRole role = GetOpInfo(op).role;
  if (role == OpRole::kAcquire) return Acquire(seq, pid, op, addr, size, stack, tag);
  if (role == OpRole::kRelease) return Release(seq, thread, pid, op, addr);
  return absl::OkStatus();
}

absl::StatusOr<AllocationStats> Pairing::Finish() {
  for (auto& [thread, p] : pending_) {
    if (p.was_live) ATR_RETURN_IF_ERROR(Reopen(p));
  }
  pending_.clear();
  for (auto& [pid, heap] : heaps_) {
    for (auto& [addr, b] : heap.live) ATR_RETURN_IF_ERROR(Close(b, 0));
    stats_.leaked += static_cast<int64_t>(heap.live.size());
  }
  heaps_.clear();
  return stats_;
}

// Records the end of allocation b (free_seq 0: never released).
absl::Status Pairing::Close(const LiveBlock& b, int64_t free_seq) {
  if (free_seq == 0) stack_totals_.Leaked(b);
  return sink_->Closed(b, free_seq);
}

absl::Status Pairing::Reopen(const PendingRealloc& p) {
  live_bytes_ += p.block.size;
  stack_totals_.Unreleased(p.block, p.release_seq);
  auto [it, inserted] = Heap(p.pid).live.try_emplace(p.addr, p.block);
  if (inserted) return absl::OkStatus();
  // Another block was acquired at the address meanwhile, so events were
  // lost: as in Acquire, the older block stays open-ended.
  ++stats_.reacquired_live;
  ++stats_.leaked;
  live_bytes_ -= p.block.size;
  return Close(p.block, 0);
}

absl::Status Pairing::Acquire(int64_t seq, int32_t pid, Op op, uint64_t addr, uint64_t size,
                              int64_t stack, int64_t tag) {
  if (addr == 0) {
    // realloc(p, 0) returning 0 freed p (handled with the pending release);
    // other zero results are failures.
    if (!((op == Op::kRealloc || op == Op::kReallocArray) && size == 0)) {
      ++stats_.failed_acquisitions;
    }
    return absl::OkStatus();
  }
  ProcessHeap& heap = Heap(pid);
  const LiveBlock block{seq, size, sink_->Opened(seq, tag), stack};
  auto [it, inserted] = heap.live.try_emplace(addr, block);
  if (!inserted) {
    // The release of the old block was lost: it stays open-ended.
    ++stats_.reacquired_live;
    ++stats_.leaked;
    live_bytes_ -= it->second.size;
    ATR_RETURN_IF_ERROR(Close(it->second, 0));
    it->second = block;
  }
  ++stats_.allocations;
  stats_.allocated_bytes += size;
  stack_totals_.Acquired(block);
  live_bytes_ += size;
  if (live_bytes_ > stats_.peak_live_bytes) {
    stats_.peak_live_bytes = live_bytes_;
    stats_.peak_live_seq = seq;
  }
  return absl::OkStatus();
}

absl::Status Pairing::Release(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr) {
  if (addr == 0) return absl::OkStatus();  // free(NULL), realloc(NULL, n)
  ProcessHeap& heap = Heap(pid);
  auto it = heap.live.find(addr);
  bool was_live = it != heap.live.end();
  LiveBlock block{};
  if (was_live) {
    block = it->second;
    heap.live.erase(it);
    live_bytes_ -= block.size;
    stack_totals_.Released(block, seq);
  } else {
    CountMiss(pid, addr);
  }
  if (op == Op::kReallocRelease) {
    // Closed or not once the thread's next event shows the outcome.
    pending_[thread] = PendingRealloc{pid, addr, seq, was_live, block};
    return absl::OkStatus();
  }
  if (!was_live) return absl::OkStatus();
  ++stats_.releases;
  return Close(block, seq);
}

void Pairing::CountMiss(int32_t pid, uint64_t addr) {
  missed_pids_.insert(pid);
  // A forked child frees blocks its parent allocated. Checking the
  // parent's current live set is an approximation (the parent may have
  // freed its own copy since the fork), cheap and memory-bounded.
  if (auto p = ppids_.find(pid); p != ppids_.end() && traced_pids_.contains(p->second)) {
    auto parent = heaps_.find(p->second);
    if (parent != heaps_.end() && parent->second.live.contains(addr)) {
      ++stats_.inherited_releases;
      return;
    }
  }
  ++stats_.unmatched_releases;
}

// process_start: blocks of the pid's previous image (exec, pid reuse) are
// never released.
absl::Status Pairing::EndImage(int32_t pid) {
  auto it = heaps_.find(pid);
  if (it == heaps_.end()) return absl::OkStatus();
  for (auto& [addr, b] : it->second.live) {
    live_bytes_ -= b.size;
    ATR_RETURN_IF_ERROR(Close(b, 0));
  }
  stats_.leaked += static_cast<int64_t>(it->second.live.size());
  it->second.live.clear();
  return absl::OkStatus();
}

absl::Status CreateResultTables(SqlDatabase& db) {
  // kRecording: op_stats, which traces older than that table lack.
  ATR_RETURN_IF_ERROR(EnsureTableGroup(db, TableGroup::kRecording));
  return EnsureTableGroup(db, TableGroup::kAllocationResults);
}

absl::Status Pairing::WriteResults(SqlDatabase& db, const AllocationStats& s) const {
  ATR_RETURN_IF_ERROR(CreateResultTables(db));
  ATR_RETURN_IF_ERROR(
      db.Exec("DELETE FROM op_stats; DELETE FROM stack_stats;", "writing allocation tables"));
  {
    ATR_ASSIGN_OR_RETURN(SqlStatement st,
                         SqlStatement::Prepare(db, "INSERT INTO op_stats VALUES(?1, ?2, ?3)",
                                               "writing op_stats"));
    for (int op = 0; op < kOpCount; ++op) {
      if (op_counts_[op].calls == 0) continue;
      st.BindInt64(1, op);
      st.BindInt64(2, op_counts_[op].calls);
      st.BindInt64(3, op_counts_[op].bytes);
      ATR_RETURN_IF_ERROR(st.Run());
    }
  }
  {
    ATR_ASSIGN_OR_RETURN(
        SqlStatement st,
        SqlStatement::Prepare(db, "INSERT INTO stack_stats VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                              "writing stack_stats"));
    for (const auto& [stack, t] : stack_totals_.totals()) {
      st.BindInt64(1, stack);
      st.BindInt64(2, t.calls);
      st.BindInt64(3, t.bytes);
      st.BindInt64(4, stack_totals_.PeakBytes(t));
      st.BindInt64(5, t.leaked);
      st.BindInt64(6, t.leaked_bytes);
      st.BindIdOrNull(7, t.first_leak_seq);
      ATR_RETURN_IF_ERROR(st.Run());
    }
  }
  ATR_ASSIGN_OR_RETURN(SqlStatement st,
                       SqlStatement::Prepare(db,
                                             "INSERT INTO meta(key, value) VALUES(?1, ?2) "
                                             "ON CONFLICT(key) DO UPDATE SET value=?2",
                                             "writing allocation counts"));
  const std::pair<const char*, int64_t> rows[] = {
      {"alloc_allocations", s.allocations},
      {"alloc_allocated_bytes", static_cast<int64_t>(s.allocated_bytes)},
      {"alloc_releases", s.releases},
      {"alloc_leaked", s.leaked},
      {"alloc_unmatched_releases", s.unmatched_releases},
      {"alloc_inherited_releases", s.inherited_releases},
      {"alloc_failed_reallocs", s.failed_reallocs},
      {"alloc_failed_acquisitions", s.failed_acquisitions},
      {"alloc_reacquired_live", s.reacquired_live},
      {"alloc_peak_live_bytes", static_cast<int64_t>(s.peak_live_bytes)},
      {"alloc_peak_live_seq", s.peak_live_seq},
  };
  for (const auto& [key, value] : rows) {
    st.BindText(1, key);
    st.BindText(2, absl::StrCat(value));
    ATR_RETURN_IF_ERROR(st.Run());
  }
  return absl::OkStatus();
}

}  // namespace atr::db_internal
