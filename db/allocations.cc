#include "db/allocations.h"

#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "db/batch_inserter.h"
#include "db/sqlite.h"

namespace atr {
namespace db_internal {
namespace {

struct LiveBlock {
  int64_t alloc_seq;
  uint64_t size;
  uint64_t slot;   // its entry's position in the window, counted since the pass began
  int64_t stack;   // events.stack of the acquisition, 0 = not recorded
};

// The stack_stats table: per allocation stack, what `atr top`, `atr leaks`
// and `atr info` would otherwise compute by joining every pair to its event.
//
// peak_bytes is defined as the SQL defines it (kTopByStackSql): requested
// bytes of the pairs with alloc_seq <= P and (free_seq NULL or > P), P the
// pass's peak seq, known only at the end. So each stack keeps its bytes
// live by that definition (`live`, changed when a pair opens and when it
// gets a real free_seq; never-released pairs stay live) and, lazily, its
// value at the latest peak: the first change after a peak saves the value
// the stack had at it; a stack unchanged since then still holds it in `live`.
class StackTotals {
 public:
  struct Totals {
    int64_t calls = 0;
    int64_t bytes = 0;
    int64_t leaked = 0;
    int64_t leaked_bytes = 0;
    int64_t first_leak_seq = 0;  // 0 = none
    int64_t live = 0;            // bytes live by the SQL definition, now
    int64_t at_peak = 0;         // value at the latest peak, when changed_seq > peak
    int64_t changed_seq = 0;     // seq at which `live` last changed
  };

  // `peak_seq` is the pass's current peak seq; the totals read it at every
  // change.
  explicit StackTotals(const int64_t* peak_seq) : peak_seq_(peak_seq) {}

  void Acquired(const LiveBlock& b) {
    Totals& t = Change(b.stack, b.alloc_seq);
    ++t.calls;
    t.bytes += static_cast<int64_t>(b.size);
    t.live += static_cast<int64_t>(b.size);
  }

  // b got free_seq `seq`, the event being processed (a realloc_release is
  // counted here too, before its outcome is known; see Unreleased).
  void Released(const LiveBlock& b, int64_t seq) {
    Change(b.stack, seq).live -= static_cast<int64_t>(b.size);
  }

  // The realloc_release at `release_seq` counted by Released did not
  // release b after all (the realloc failed or never returned): b was live
  // all along, at the current peak too if the release came before it.
  void Unreleased(const LiveBlock& b, int64_t release_seq) {
    Totals& t = totals_[b.stack];  // changed at release_seq: an entry exists
    const auto size = static_cast<int64_t>(b.size);
    if (release_seq <= *peak_seq_ && t.changed_seq > *peak_seq_) t.at_peak += size;
    t.live += size;  // unchanged since the peak: `live` is the peak value, rightly corrected
  }

  // b ends with free_seq NULL.
  void Leaked(const LiveBlock& b) {
    Totals& t = totals_[b.stack];
    ++t.leaked;
    t.leaked_bytes += static_cast<int64_t>(b.size);
    if (t.first_leak_seq == 0 || b.alloc_seq < t.first_leak_seq) t.first_leak_seq = b.alloc_seq;
  }

  int64_t PeakBytes(const Totals& t) const {
    return t.changed_seq <= *peak_seq_ ? t.live : t.at_peak;
  }
  const absl::flat_hash_map<int64_t, Totals>& totals() const { return totals_; }

 private:
  Totals& Change(int64_t stack, int64_t seq) {
    Totals& t = totals_[stack];
    if (t.changed_seq <= *peak_seq_) t.at_peak = t.live;
    t.changed_seq = seq;
    return t;
  }

  const int64_t* peak_seq_;
  absl::flat_hash_map<int64_t, Totals> totals_;  // by stack
};

// A realloc_release waiting for its thread's next event, which tells
// whether the realloc succeeded (DESIGN.md §4: the release is numbered
// before the call, the acquisition after it returns).
struct PendingRealloc {
  int32_t pid;
  uint64_t addr;
  int64_t release_seq;
  bool was_live;   // the old block was live (else already counted unmatched)
  LiveBlock block;
};

struct ProcessHeap {
  absl::flat_hash_map<uint64_t, LiveBlock> live;  // addr -> open allocation
  int32_t ppid = 0;                               // 0: parent not traced
};

class Pairing {
 public:
  Pairing(BatchInserter* out, absl::flat_hash_map<int32_t, int32_t> parents, size_t max_window)
      : max_window_(std::max<size_t>(1, max_window)), out_(out), parents_(std::move(parents)) {}

  absl::Status OnEvent(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr,
                       uint64_t size, int64_t stack) {
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
    if (role == OpRole::kAcquire) return Acquire(seq, pid, op, addr, size, stack);
    if (role == OpRole::kRelease) return Release(seq, thread, pid, op, addr);
    return absl::OkStatus();
  }

  // Blocks still live at the end stay open; so do reallocs whose call never
  // returned (the process died inside realloc: the old block was live).
  absl::StatusOr<AllocationStats> Finish() {
    for (auto& [thread, p] : pending_) {
      if (p.was_live) ATR_RETURN_IF_ERROR(Reopen(p));
    }
    pending_.clear();
    for (auto& [pid, heap] : heaps_) {
      for (auto& [addr, b] : heap.live) ATR_RETURN_IF_ERROR(Close(b, 0));
      stats_.leaked += static_cast<int64_t>(heap.live.size());
    }
    heaps_.clear();
    ATR_RETURN_IF_ERROR(Drain());
    if (!window_.empty()) return absl::InternalError("allocation pass: open block left in window");
    ATR_RETURN_IF_ERROR(out_->Flush());
    return stats_;
  }

  // Valid after Finish().
  const StackTotals& stack_totals() const { return stack_totals_; }

 private:
  ProcessHeap& Heap(int32_t pid) {
    auto [it, inserted] = heaps_.try_emplace(pid);
    if (inserted) {
      auto p = parents_.find(pid);
      if (p != parents_.end()) it->second.ppid = p->second;
    }
    return it->second;
  }

  // Records the end of allocation b (free_seq 0: never released). Rows are
  // written in alloc_seq order through `window_`, so the table's pages fill
  // up (release order would leave them about half empty). The block knows
  // its window slot: O(1), no search (a binary search over the deque was
  // 6% of Finish()).
  absl::Status Close(const LiveBlock& b, int64_t free_seq) {
    if (free_seq == 0) stack_totals_.Leaked(b);
    if (b.slot < window_base_) return Emit(b.alloc_seq, free_seq);  // detached: out of order
    WindowEntry& e = window_[b.slot - window_base_];
    if (e.alloc_seq != b.alloc_seq) {
      return absl::InternalError("allocation pass: window slot does not match its block");
    }
    e.free_seq = free_seq;
    return Drain();
  }

  // The slot the next Opened() entry takes.
  uint64_t NextSlot() const { return window_base_ + window_.size(); }

  absl::Status Opened(int64_t alloc_seq) {
    window_.push_back({alloc_seq, kOpen});
    // Bound memory: a long-lived block at the front holds back everything
    // newer. Past the limit it is detached and written when it ends.
    while (window_.size() > max_window_) {
      window_.pop_front();
      ++window_base_;
      ATR_RETURN_IF_ERROR(Drain());
    }
    return absl::OkStatus();
  }

  absl::Status Drain() {
    while (!window_.empty() && window_.front().free_seq != kOpen) {
      ATR_RETURN_IF_ERROR(Emit(window_.front().alloc_seq, window_.front().free_seq));
      window_.pop_front();
      ++window_base_;
    }
    return absl::OkStatus();
  }

  absl::Status Emit(int64_t alloc_seq, int64_t free_seq) {
    int64_t* row = out_->Row();
    row[0] = alloc_seq;
    row[1] = free_seq;  // 0 -> NULL: never released
    return out_->Commit();
  }

  absl::Status Reopen(const PendingRealloc& p) {
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

  absl::Status Acquire(int64_t seq, int32_t pid, Op op, uint64_t addr, uint64_t size,
                       int64_t stack) {
    if (addr == 0) {
      // realloc(p, 0) returning 0 freed p (handled with the pending release);
      // other zero results are failures.
      if (!((op == Op::kRealloc || op == Op::kReallocArray) && size == 0)) {
        ++stats_.failed_acquisitions;
      }
      return absl::OkStatus();
    }
    ProcessHeap& heap = Heap(pid);
    const LiveBlock block{seq, size, NextSlot(), stack};
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
    ATR_RETURN_IF_ERROR(Opened(seq));
    live_bytes_ += size;
    if (live_bytes_ > stats_.peak_live_bytes) {
      stats_.peak_live_bytes = live_bytes_;
      stats_.peak_live_seq = seq;
    }
    return absl::OkStatus();
  }

  absl::Status Release(int64_t seq, int64_t thread, int32_t pid, Op op, uint64_t addr) {
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
      CountMiss(heap, addr);
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

  void CountMiss(const ProcessHeap& heap, uint64_t addr) {
    // A forked child frees blocks its parent allocated. Checking the
    // parent's current live set is an approximation (the parent may have
    // freed its own copy since the fork), cheap and memory-bounded.
    if (heap.ppid != 0) {
      auto parent = heaps_.find(heap.ppid);
      if (parent != heaps_.end() && parent->second.live.contains(addr)) {
        ++stats_.inherited_releases;
        return;
      }
    }
    ++stats_.unmatched_releases;
  }

  // process_start: blocks of the pid's previous image (exec, pid reuse) are
  // never released.
  absl::Status EndImage(int32_t pid) {
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

  struct WindowEntry {
    int64_t alloc_seq;
    int64_t free_seq;  // kOpen while live, 0 never released, else the release
  };
  static constexpr int64_t kOpen = -1;

  size_t max_window_;  // entries (16 bytes each)
  BatchInserter* out_;
  std::deque<WindowEntry> window_;  // allocations from the oldest unwritten one, by alloc_seq
  uint64_t window_base_ = 0;        // slot of window_.front()
  absl::flat_hash_map<int32_t, int32_t> parents_;  // pid -> traced parent pid
  absl::flat_hash_map<int32_t, ProcessHeap> heaps_;
  absl::flat_hash_map<int64_t, PendingRealloc> pending_;  // by events.thread
  uint64_t live_bytes_ = 0;
  AllocationStats stats_;
  StackTotals stack_totals_{&stats_.peak_live_seq};
};

constexpr char kCreateStackStatsSql[] =
    "CREATE TABLE IF NOT EXISTS stack_stats(stack INTEGER PRIMARY KEY, "
    "calls INTEGER NOT NULL, bytes INTEGER NOT NULL, peak_bytes INTEGER NOT NULL, "
    "leaked INTEGER NOT NULL, leaked_bytes INTEGER NOT NULL, first_leak_seq INTEGER);";

absl::Status WriteStackStats(SqlDatabase& db, const StackTotals& totals) {
  ATR_ASSIGN_OR_RETURN(SqlStatement st,
                       SqlStatement::Prepare(db,
                                             "INSERT INTO stack_stats VALUES(?1, ?2, ?3, ?4, ?5, "
                                             "?6, ?7)",
                                             "writing stack_stats"));
  for (const auto& [stack, t] : totals.totals()) {
    st.BindInt64(1, stack);
    st.BindInt64(2, t.calls);
    st.BindInt64(3, t.bytes);
    st.BindInt64(4, totals.PeakBytes(t));
    st.BindInt64(5, t.leaked);
    st.BindInt64(6, t.leaked_bytes);
    st.BindIdOrNull(7, t.first_leak_seq);
    ATR_RETURN_IF_ERROR(st.Run());
  }
  return absl::OkStatus();
}

absl::Status WriteStats(SqlDatabase& db, const AllocationStats& s) {
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

}  // namespace

absl::StatusOr<AllocationStats> BuildAllocationsOn(SqlDatabase& db, size_t max_window) {
  // thread id -> pid, and pid -> parent pid (for forked children).
  absl::flat_hash_map<int64_t, int32_t> thread_pid;
  {
    ATR_ASSIGN_OR_RETURN(SqlStatement st,
                         SqlStatement::Prepare(db, "SELECT id, pid FROM threads", "reading threads"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      thread_pid[st.ColumnInt64(0)] = static_cast<int32_t>(st.ColumnInt64(1));
    }
  }
  absl::flat_hash_map<int32_t, int32_t> parents;
  {
    ATR_ASSIGN_OR_RETURN(
        SqlStatement st,
        SqlStatement::Prepare(db,
                              "SELECT pid, ppid FROM processes WHERE ppid IN "
                              "(SELECT pid FROM processes)",
                              "reading processes"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      parents[static_cast<int32_t>(st.ColumnInt64(0))] = static_cast<int32_t>(st.ColumnInt64(1));
    }
  }

  // op_stats and stack_stats are filled by the same pass (IF NOT EXISTS:
  // traces written before the tables were added).
  ATR_RETURN_IF_ERROR(db.Exec(absl::StrCat("BEGIN; DELETE FROM allocation_pairs;"
                                           "CREATE TABLE IF NOT EXISTS op_stats(op INTEGER PRIMARY KEY, "
                                           "calls INTEGER NOT NULL, bytes INTEGER NOT NULL);"
                                           "DELETE FROM op_stats;",
                                           kCreateStackStatsSql, "DELETE FROM stack_stats;"),
                              "pairing allocations"));
  struct OpCount {
    int64_t calls = 0;
    int64_t bytes = 0;
  };
  std::vector<OpCount> op_counts(kOpCount);
  ATR_ASSIGN_OR_RETURN(BatchInserter out, BatchInserter::Create(db, "allocation_pairs", 2, 1u << 1,
                                                                "writing allocations"));
  Pairing pairing(&out, std::move(parents), max_window);
  {
    // Rowid order: a plain b-tree walk, no sort.
    ATR_ASSIGN_OR_RETURN(SqlStatement ev,
                         SqlStatement::Prepare(db,
                                               "SELECT seq, thread, op, addr, size, stack "
                                               "FROM event_log "
                                               "ORDER BY seq",
                                               "reading events"));
    while (true) {
      ATR_ASSIGN_OR_RETURN(bool row, ev.Step());
      if (!row) break;
      int64_t thread = ev.ColumnInt64(1);
      int64_t op = ev.ColumnInt64(2);
      if (op >= 0 && op < kOpCount) {
        ++op_counts[op].calls;
        op_counts[op].bytes += ev.ColumnInt64(4);
      }
      auto t = thread_pid.find(thread);
      int32_t pid = t != thread_pid.end() ? t->second : 0;
      ATR_RETURN_IF_ERROR(pairing.OnEvent(ev.ColumnInt64(0), thread, pid,
                                          static_cast<Op>(op),
                                          static_cast<uint64_t>(ev.ColumnInt64(3)),
                                          static_cast<uint64_t>(ev.ColumnInt64(4)),
                                          ev.ColumnInt64(5)));  // NULL stack reads as 0
    }
  }
  ATR_ASSIGN_OR_RETURN(AllocationStats stats, pairing.Finish());
  {
    ATR_ASSIGN_OR_RETURN(SqlStatement st,
                         SqlStatement::Prepare(db, "INSERT INTO op_stats VALUES(?1, ?2, ?3)",
                                               "writing op_stats"));
    for (int op = 0; op < kOpCount; ++op) {
      if (op_counts[op].calls == 0) continue;
      st.BindInt64(1, op);
      st.BindInt64(2, op_counts[op].calls);
      st.BindInt64(3, op_counts[op].bytes);
      ATR_RETURN_IF_ERROR(st.Run());
    }
  }
  ATR_RETURN_IF_ERROR(WriteStackStats(db, pairing.stack_totals()));
  ATR_RETURN_IF_ERROR(WriteStats(db, stats));
  ATR_RETURN_IF_ERROR(db.Exec("COMMIT", "pairing allocations"));
  return stats;
}

}  // namespace db_internal

absl::StatusOr<AllocationStats> BuildAllocations(const std::string& trace_path) {
  struct stat st;
  if (stat(trace_path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(trace_path, ": no such file"));
  }
  ATR_ASSIGN_OR_RETURN(db_internal::SqlDatabase db,
                       db_internal::SqlDatabase::Open(trace_path, SQLITE_OPEN_READWRITE));
  ATR_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;", "configuring"));
  ATR_ASSIGN_OR_RETURN(
      db_internal::SqlStatement q,
      db_internal::SqlStatement::Prepare(db,
                                         "SELECT count(*) FROM sqlite_schema WHERE type='table' "
                                         "AND name IN ('event_log','allocation_pairs','threads')",
                                         "checking the schema"));
  ATR_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || q.ColumnInt64(0) != 3) {
    return absl::FailedPreconditionError(
        absl::StrCat(trace_path, ": not an atr trace (no event_log table)"));
  }
  q = db_internal::SqlStatement();  // finalize before the pass writes
  return db_internal::BuildAllocationsOn(db);
}

}  // namespace atr
