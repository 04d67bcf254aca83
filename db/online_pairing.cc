#include "db/online_pairing.h"

#include <algorithm>

namespace atr::db_internal {

OnlinePairing::OnlinePairing(SqlDatabase* db, BatchInserter* out, size_t reorder_window)
    : reorder_window_(std::max<size_t>(1, reorder_window)),
      pairing_(std::make_unique<Pairing>(db, out, size_t{1} << 20)) {
  window_.reserve(2 * reorder_window_);
}

void OnlinePairing::Abandon() {
  pairing_.reset();
  window_ = {};
}

void OnlinePairing::AddProcess(int32_t pid, std::optional<int32_t> ppid) {
  if (pairing_ != nullptr && !pairing_->AddProcess(pid, ppid)) Abandon();
}

absl::Status OnlinePairing::Add(const PairingEvent& e) {
  if (pairing_ == nullptr) return absl::OkStatus();
  if (e.seq <= paired_up_to_) {
    Abandon();  // too late: events after it were paired already
    return absl::OkStatus();
  }
  if (!window_.empty() && e.seq < window_.back().seq) unsorted_ = true;
  window_.push_back(e);
  if (window_.size() >= 2 * reorder_window_) return Release(reorder_window_);
  return absl::OkStatus();
}

absl::Status OnlinePairing::Release(size_t n) {
  if (unsorted_) {
    // Batches are sorted runs: std::sort is quick on such input.
    std::sort(window_.begin(), window_.end(),
              [](const PairingEvent& a, const PairingEvent& b) { return a.seq < b.seq; });
    unsorted_ = false;
  }
  n = std::min(n, window_.size());
  for (size_t i = 0; i < n; ++i) {
    const PairingEvent& e = window_[i];
    ATR_RETURN_IF_ERROR(pairing_->OnEvent(e.seq, e.thread, e.pid, e.op, e.addr, e.size, e.stack));
  }
  if (n > 0) paired_up_to_ = window_[n - 1].seq;
  window_.erase(window_.begin(), window_.begin() + static_cast<ptrdiff_t>(n));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AllocationStats>> OnlinePairing::Finish(SqlDatabase& db) {
  if (pairing_ == nullptr) return std::nullopt;
  ATR_RETURN_IF_ERROR(Release(window_.size()));
  ATR_ASSIGN_OR_RETURN(AllocationStats stats, pairing_->Finish());
  ATR_RETURN_IF_ERROR(pairing_->WriteResults(db, stats));
  Abandon();  // one result only
  return stats;
}

}  // namespace atr::db_internal
