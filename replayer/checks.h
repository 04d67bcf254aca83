// Checks: the heap-usage problems a replay finds, with everything needed to
// explain each one (event numbers, threads, stacks of the allocation, of its
// first release and of the offending call).
//
// Layout: a ProblemLog counts every problem by kind and keeps the first
// `max_kept` in full (the rest are counted only), so memory stays bounded on
// a trace with millions of bad frees. Invariant: counts[k] >= kept of kind k.
//
//   ProblemLog log(1000);
//   log.Add(Problem{.kind = ProblemKind::kDoubleFree, .seq = 42, ...});
//   for (const Problem& p : log.problems()) puts(ProblemKindName(p.kind).data());
#ifndef ATR_REPLAYER_CHECKS_H_
#define ATR_REPLAYER_CHECKS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "db/ops.h"
#include "db/trace_rows.h"

namespace atr::replay {

enum class ProblemKind : uint8_t {
  kDoubleFree,        // release of a block already released
  kInvalidFree,       // free/delete of an address never allocated
  kInvalidRealloc,    // realloc of an address never allocated (or already freed)
  kMismatchedFamily,  // malloc/delete, new/free, new[]/delete, new/delete[], aligned/unaligned
  kWrongSizedDelete,  // sized delete whose size differs from the allocation's
  kBadMunmap,         // munmap of a range no recorded mmap covers
  kLeak,              // block still live when its process exited (or the trace ended)
  kAddressLiveTwice,  // acquisition of an address already live: a contradiction
  kUnknownOp,         // op code this atr does not know: the event is skipped
  kUnfinishedTrace,   // the recording did not finish: replayed as far as it goes
  kModelError,        // the allocator refused an operation the checks let through
};
inline constexpr int kProblemKindCount = 11;

// Debian's Abseil has its own string_view: convert at the boundary.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline absl::string_view OpLabel(Op op) { return AV(OpName(op)); }

// Stable names, used in --json output and the replay_problems table.
std::string_view ProblemKindName(ProblemKind k);
// One-line human explanation ("double free").
std::string_view ProblemKindTitle(ProblemKind k);
// Leaks and an unfinished trace are reported but are not misuse of the API.
bool IsMisuse(ProblemKind k);

// One end of a block's life (its allocation or its first release).
struct EventRef {
  int64_t seq = 0;       // 0: none
  int64_t ts_ns = 0;
  int32_t tid = 0;
  Op op = Op::kMalloc;
  StackId stack = 0;
  uint64_t size = 0;     // bytes requested (allocation) or size argument
};

struct Problem {
  ProblemKind kind = ProblemKind::kInvalidFree;
  int32_t pid = 0;
  uint64_t addr = 0;     // the address concerned (recorded, not modelled)
  EventRef offending{};  // the call that is wrong (leak: the allocation)
  EventRef allocation{}; // seq 0: never allocated (as far as the trace shows)
  EventRef first_release{};  // seq 0: not released before
  std::string detail;    // extra facts: "delete size 24, allocated 32"
};

class ProblemLog {
 public:
  explicit ProblemLog(size_t max_kept = 10000) : max_kept_(max_kept) {}
  void Add(Problem p);
  const std::vector<Problem>& problems() const { return kept_; }
  std::vector<Problem>& mutable_problems() { return kept_; }
  int64_t count(ProblemKind k) const { return counts_[static_cast<int>(k)]; }
  int64_t total() const;
  int64_t misuse_total() const;  // everything but leaks and unfinished traces
  // Problems sorted by (offending seq, kind): deterministic output.
  void Sort();

 private:
  size_t max_kept_;
  std::vector<Problem> kept_;
  std::array<int64_t, kProblemKindCount> counts_{};
};

}  // namespace atr::replay

#endif  // ATR_REPLAYER_CHECKS_H_
