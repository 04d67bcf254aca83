#include "db/event_chunk_prediction.h"

#include <algorithm>
#include <array>

#include "db/ops.h"

namespace atr {

void PredictionScratch::Reset(size_t rows, uint32_t threads) {
  namespace p = chunk_prediction_internal;
  links.resize(rows);
  last_addr.assign(size_t{threads} * p::kAddrKinds, 0);
  thread_addr.assign(threads, 0);
  thread_stack.assign(size_t{threads} * 2, 0);
  release_stack_of.assign(kStackCacheSize, {0, 0});
  sp_depth_of.assign(kStackCacheSize, {0, 0});
}

namespace chunk_prediction_internal {
namespace {

constexpr OpPrediction PredictionFor(uint8_t code) {
  const Op op = static_cast<Op>(code);
  OpPrediction r{kNoAddr, kArgNone, false, 0};
  if (!IsKnownOp(code)) return r;
  if (IsHeapOp(op)) r.addr_kind = kHeapAddr;
  if (IsRelease(op)) r.role = 1;
  if (GetOpInfo(op).family == Family::kMmap || op == Op::kBrk || op == Op::kSbrk ||
      op == Op::kDlopen || op == Op::kDlclose) {
    r.addr_kind = kMapAddr;
  }
  if (op == Op::kFuncEnter || op == Op::kFuncExit) r.addr_kind = kFuncAddr;
  if (op == Op::kRealloc || op == Op::kReallocArray) r.arg_from = kArgThreadAddr;
  if (op == Op::kBrk || op == Op::kFuncEnter || op == Op::kFuncExit) r.arg_from = kArgRowAddr;
  r.size_from_link = op == Op::kDeleteSized || op == Op::kDeleteArraySized ||
                     op == Op::kDeleteSizedAligned || op == Op::kDeleteArraySizedAligned;
  return r;
}

constexpr std::array<OpPrediction, 256> MakeTable() {
  std::array<OpPrediction, 256> t{};
  for (int code = 0; code < 256; ++code) t[code] = PredictionFor(static_cast<uint8_t>(code));
  return t;
}

}  // namespace

constinit const std::array<OpPrediction, 256> kOpPredictions = MakeTable();

int64_t LinkedRow(const PredictionInputs& in, size_t row, uint64_t total_gap) {
  const uint64_t distance = static_cast<uint64_t>(in.free_after[row]);
  const size_t n = in.seq.size();
  // The target seq must not pass the last one (this also keeps it from overflowing).
  if (distance > static_cast<uint64_t>(in.seq[n - 1]) - static_cast<uint64_t>(in.seq[row])) {
    return -1;
  }
  const int64_t target = static_cast<int64_t>(static_cast<uint64_t>(in.seq[row]) + distance);
  // Seqs rise by at least 1 per row and skip total_gap in all, so the target
  // row is within [row + distance - total_gap, row + distance].
  const uint64_t hi = std::min<uint64_t>(n - 1, row + distance);
  const uint64_t lo =
      distance > total_gap ? std::max<uint64_t>(row + 1, row + distance - total_gap) : row + 1;
  if (lo > hi) return -1;
  if (lo == hi) return in.seq[lo] == target ? static_cast<int64_t>(lo) : -1;
  const auto first = in.seq.begin() + lo, last = in.seq.begin() + hi + 1;
  const auto it = std::lower_bound(first, last, target);
  return it != last && *it == target ? it - in.seq.begin() : -1;
}

}  // namespace chunk_prediction_internal
}  // namespace atr
