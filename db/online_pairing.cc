#include "db/online_pairing.h"

#include <algorithm>

namespace atr::db_internal {

OnlinePairing::OnlinePairing(size_t reorder_window, size_t held_window)
    : reorder_window_(std::max<size_t>(1, reorder_window)),
      held_window_(std::max<size_t>(1, held_window)),
      pairing_(std::make_unique<Pairing>(static_cast<PairSink*>(this))) {}

OnlinePairing::~OnlinePairing() = default;

int64_t OnlinePairing::Opened(int64_t alloc_seq, int64_t tag) {
  opened_ = true;
  return tag;
}

absl::Status OnlinePairing::Closed(const LiveBlock& b, int64_t free_seq) {
  if (b.tag == kInserted || static_cast<uint64_t>(b.tag) < held_base_) {
    if (free_seq != 0) staged_.late_frees.emplace_back(b.alloc_seq, free_seq);
    return absl::OkStatus();
  }
  EventValues& row = held_[static_cast<uint64_t>(b.tag) - held_base_];
  if (row[kSeq] != b.alloc_seq) {
    return absl::InternalError("allocation pass: held slot does not match its block");
  }
  row[kFreeAfter] = free_seq == 0 ? 0 : free_seq - b.alloc_seq;
  return absl::OkStatus();
}

void OnlinePairing::SortPending() {
  if (!unsorted_) return;
  // Batches are sorted runs: std::sort is quick on such input.
  std::sort(pending_.begin(), pending_.end(),
            [](const Pending& a, const Pending& b) { return a.row[kSeq] < b.row[kSeq]; });
  unsorted_ = false;
}

absl::Status OnlinePairing::Add(const EventValues& row, int32_t pid) {
  if (pairing_ == nullptr) {
    Insert(row);
    return absl::OkStatus();
  }
  if (row[kSeq] <= paired_up_to_) {
    ATR_RETURN_IF_ERROR(Abandon());  // too late: events after it were paired already
    Insert(row);
    return absl::OkStatus();
  }
  if (!pending_.empty() && row[kSeq] < pending_.back().row[kSeq]) unsorted_ = true;
  if (row[kSeq] > newest_seq_) {
    newest_seq_ = row[kSeq];
  } else {
    disorder_ = std::max(disorder_, newest_seq_ - row[kSeq]);
  }
  pending_.push_back({row, pid, false});
  if (pending_.size() >= 2 * reorder_window_) return Release(reorder_window_);
  return absl::OkStatus();
}

absl::Status OnlinePairing::AddProcess(int32_t pid, std::optional<int32_t> ppid) {
  if (pairing_ != nullptr && !pairing_->AddProcess(pid, ppid)) return Abandon();
  return absl::OkStatus();
}

absl::Status OnlinePairing::Release(size_t n) {
  SortPending();
  n = std::min(n, pending_.size());
  for (size_t i = 0; i < n; ++i) {
    Pending& p = pending_[i];
    const EventValues& r = p.row;
    const int64_t slot = static_cast<int64_t>(held_base_ + held_.size());
    opened_ = false;
    ATR_RETURN_IF_ERROR(pairing_->OnEvent(r[kSeq], r[kThread], p.pid, static_cast<Op>(r[kOp]),
                                          static_cast<uint64_t>(r[kAddr]),
                                          static_cast<uint64_t>(r[kSize]), r[kStack],
                                          p.inserted ? kInserted : slot));
    if (!p.inserted) {
      held_.push_back(r);
      held_.back()[kFreeAfter] = opened_ ? kOpen : 0;
    }
    ATR_RETURN_IF_ERROR(DrainHeld(held_window_));
  }
  if (n > 0) paired_up_to_ = pending_[n - 1].row[kSeq];
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n));
  return absl::OkStatus();
}

absl::Status OnlinePairing::DrainHeld(size_t keep) {
  while (!held_.empty() && (held_.front()[kFreeAfter] != kOpen || held_.size() > keep)) {
    EventValues& row = held_.front();
    // A row inserted while its block lives stores NULL; a release found
    // later goes to late_frees (Closed sees the slot below held_base_).
    if (row[kFreeAfter] == kOpen) row[kFreeAfter] = 0;
    Insert(row);
    held_.pop_front();
    ++held_base_;
  }
  return absl::OkStatus();
}

absl::Status OnlinePairing::FlushRows() {
  if (pairing_ == nullptr) return absl::OkStatus();
  // Pair what no late event is expected to precede: rows older than twice
  // the worst lateness seen so far (0 for one thread). The rest is
  // inserted unpaired: releases of its allocations will go to late_frees.
  // A later event older than the paired ones still abandons the pass.
  SortPending();
  const int64_t safe_seq = newest_seq_ - 2 * disorder_;
  auto first_unsafe = std::partition_point(
      pending_.begin(), pending_.end(), [&](const Pending& p) { return p.row[kSeq] <= safe_seq; });
  ATR_RETURN_IF_ERROR(Release(static_cast<size_t>(first_unsafe - pending_.begin())));
  ATR_RETURN_IF_ERROR(DrainHeld(0));
  // Pending rows have higher seqs than every held one: still seq order.
  for (Pending& p : pending_) {
    if (p.inserted) continue;
    EventValues row = p.row;
    row[kFreeAfter] = 0;
    Insert(row);
    p.inserted = true;
  }
  return absl::OkStatus();
}

absl::Status OnlinePairing::Abandon() {
  ATR_RETURN_IF_ERROR(FlushRows());
  pairing_.reset();
  pending_ = {};
  held_ = {};
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AllocationStats>> OnlinePairing::Finish(SqlDatabase& db) {
  if (pairing_ == nullptr) return std::nullopt;
  ATR_RETURN_IF_ERROR(Release(pending_.size()));
  ATR_ASSIGN_OR_RETURN(AllocationStats stats, pairing_->Finish());  // closes every block
  ATR_RETURN_IF_ERROR(DrainHeld(0));
  ATR_RETURN_IF_ERROR(pairing_->WriteResults(db, stats));
  pairing_.reset();  // one result only; later rows go straight in
  return stats;
}

}  // namespace atr::db_internal
