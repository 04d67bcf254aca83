#include "replayer/checks.h"

#include <algorithm>
#include <tuple>

namespace atr::replay {

std::string_view ProblemKindName(ProblemKind k) {
  switch (k) {
    case ProblemKind::kDoubleFree: return "double_free";
    case ProblemKind::kInvalidFree: return "invalid_free";
    case ProblemKind::kInvalidRealloc: return "invalid_realloc";
    case ProblemKind::kMismatchedFamily: return "mismatched_family";
    case ProblemKind::kWrongSizedDelete: return "wrong_sized_delete";
    case ProblemKind::kBadMunmap: return "bad_munmap";
    case ProblemKind::kLeak: return "leak";
    case ProblemKind::kAddressLiveTwice: return "address_live_twice";
    case ProblemKind::kUnknownOp: return "unknown_op";
    case ProblemKind::kUnfinishedTrace: return "unfinished_trace";
    case ProblemKind::kModelError: return "model_error";
  }
  return "unknown";
}

std::string_view ProblemKindTitle(ProblemKind k) {
  switch (k) {
    case ProblemKind::kDoubleFree: return "double free";
    case ProblemKind::kInvalidFree: return "free of an address never allocated";
    case ProblemKind::kInvalidRealloc: return "realloc of an address not allocated";
    case ProblemKind::kMismatchedFamily: return "mismatched allocation/release functions";
    case ProblemKind::kWrongSizedDelete: return "sized delete with the wrong size";
    case ProblemKind::kBadMunmap: return "munmap of an unmapped range";
    case ProblemKind::kLeak: return "leak at exit";
    case ProblemKind::kAddressLiveTwice: return "address acquired while already live (contradiction)";
    case ProblemKind::kUnknownOp: return "unknown op code (event skipped)";
    case ProblemKind::kUnfinishedTrace: return "unfinished trace";
    case ProblemKind::kModelError: return "allocator model refused an operation";
  }
  return "unknown";
}

bool IsMisuse(ProblemKind k) {
  return k != ProblemKind::kLeak && k != ProblemKind::kUnfinishedTrace;
}

void ProblemLog::Add(Problem p) {
  ++counts_[static_cast<int>(p.kind)];
  if (kept_.size() < max_kept_) kept_.push_back(std::move(p));
}

int64_t ProblemLog::total() const {
  int64_t n = 0;
  for (int64_t c : counts_) n += c;
  return n;
}

int64_t ProblemLog::misuse_total() const {
  int64_t n = 0;
  for (int k = 0; k < kProblemKindCount; ++k) {
    if (IsMisuse(static_cast<ProblemKind>(k))) n += counts_[k];
  }
  return n;
}

void ProblemLog::Sort() {
  std::stable_sort(kept_.begin(), kept_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.offending.seq, a.kind, a.pid, a.addr) <
           std::tie(b.offending.seq, b.kind, b.pid, b.addr);
  });
}

}  // namespace atr::replay
