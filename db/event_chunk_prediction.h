// The predictions that make addr, size, arg, stack and sp_depth cheap in an
// event chunk, as one walk shared by the encoder and the decoder, so the
// two can never disagree. Row by row, in seq order, each value is stored as
// a residual against a prediction made only from what the decoder already
// has: seq, op, thread and free_after of every row, the predicted columns
// of earlier rows, and this row's columns listed before it here:
//
//   addr  - a release whose allocation is in the same chunk (an earlier row
//           with seq + free_after = this seq): that allocation's addr, so
//           the residual is 0 and the pairing costs only free_after;
//         - other heap, mapping and func ops: the last non-zero addr of the
//           same kind of op on the same thread (allocators hand a thread
//           nearby blocks, often the one it just freed);
//         - ops without an address: 0;
//   size  - a sized delete linked as above: the allocation's size; else 0;
//   arg   - realloc/reallocarray: the thread's previous addr (the
//           realloc_release half holding the old pointer);
//           brk, func_enter/exit: the same row's addr; else 0;
//   stack - a linked release: the stack that last released an allocation
//           made at this allocation's stack (objects of one kind die in one
//           place); else the thread's last stack of the same role
//           (acquisition or release);
//   sp_depth - the sp_depth last seen with this row's stack (one call path
//           has one depth).
// The two remembered-stack tables are direct-mapped caches of
// kStackCacheSize entries, so a lookup is one load and a tag compare.
//
// addr, size and arg are stored as PredictionResidual(v, p): v when p is 0,
// else ZigZag(v - p) (64-bit wrapping), small when the guess is close.
// stack and sp_depth are stored as HitOrLiteral(v, p): 0 when the guess is
// exact, else v itself (moved up by one below p), so the values that miss
// stay the same numbers for zstd to find again.
//
// Usage (Coder has uint64_t Addr(size_t row, uint64_t predicted) and the
// same for Size, Arg, Stack and SpDepth, returning the row's true value):
//   atr::PredictionScratch scratch;
//   atr::WalkPredictedColumns(inputs, &scratch, coder);
#ifndef ATR_DB_EVENT_CHUNK_PREDICTION_H_
#define ATR_DB_EVENT_CHUNK_PREDICTION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "db/chunk_bytes.h"

namespace atr {

constexpr uint64_t PredictionResidual(uint64_t value, uint64_t predicted) {
  return predicted == 0 ? value : ZigZag(static_cast<int64_t>(value - predicted));
}
constexpr uint64_t FromPredictionResidual(uint64_t residual, uint64_t predicted) {
  return predicted == 0 ? residual : predicted + static_cast<uint64_t>(UnZigZag(residual));
}

constexpr uint64_t HitOrLiteral(uint64_t value, uint64_t predicted) {
  return value == predicted ? 0 : value < predicted ? value + 1 : value;
}
constexpr uint64_t FromHitOrLiteral(uint64_t residual, uint64_t predicted) {
  return residual == 0 ? predicted : residual <= predicted ? residual - 1 : residual;
}

inline constexpr size_t kStackCacheBits = 12;
inline constexpr size_t kStackCacheSize = size_t{1} << kStackCacheBits;

// The columns the predictions depend on. REQUIRES: equal lengths, seq
// strictly increasing, every thread_index < thread_count.
struct PredictionInputs {
  absl::Span<const int64_t> seq;
  absl::Span<const uint8_t> op;
  absl::Span<const uint32_t> thread_index;  // index into the chunk's thread dictionary
  absl::Span<const int64_t> free_after;
  uint32_t thread_count = 0;
};

// Buffers reused from chunk to chunk (one per encoder or decoder).
struct PredictionScratch {
  // Per row: the allocation it releases, when that is in the chunk. Every
  // entry is invalid between walks (a walk clears each row it reaches), so
  // nothing is reset per chunk.
  struct Link {
    uint64_t addr = 0;
    uint64_t size = 0;
    uint64_t stack = 0;
    bool valid = false;
  };
  std::vector<Link> links;
  std::vector<uint64_t> last_addr;     // per thread and AddrKind: last non-zero addr
  std::vector<uint64_t> thread_addr;   // per thread: addr of its previous event
  std::vector<uint64_t> thread_stack;  // per thread and role (2): its last stack
  // Direct-mapped: allocation stack -> stack of its last release, and
  // stack -> its last sp_depth. Entries are {tag (a stack), value}.
  std::vector<std::pair<uint64_t, uint64_t>> release_stack_of;
  std::vector<std::pair<uint64_t, uint64_t>> sp_depth_of;

  void Reset(size_t rows, uint32_t threads);
};

namespace chunk_prediction_internal {

// Which addresses predict which: ops of one kind share a history per thread.
enum AddrKind : uint8_t { kNoAddr, kHeapAddr, kMapAddr, kFuncAddr, kAddrKinds };
enum ArgFrom : uint8_t { kArgNone, kArgThreadAddr, kArgRowAddr };

struct OpPrediction {
  AddrKind addr_kind;
  ArgFrom arg_from;
  bool size_from_link;  // sized delete: size is the allocation's
  uint8_t role;         // 1 for releases, 0 otherwise: which thread_stack
};
// Indexed by op code; filled from db/ops.h.
extern const std::array<OpPrediction, 256> kOpPredictions;

// The row holding seq[row] + free_after[row] when it is inside the chunk
// (always later than row), or -1.
int64_t LinkedRow(const PredictionInputs& in, size_t row, uint64_t total_gap);

inline size_t StackSlot(uint64_t stack) {
  return (stack * 0x9e37'79b9'7f4a'7c15ull) >> (64 - kStackCacheBits);
}

// The cached value for `tag`, or `fallback` when the slot holds another tag.
inline uint64_t Lookup(const std::vector<std::pair<uint64_t, uint64_t>>& cache, uint64_t tag,
                       uint64_t fallback) {
  const auto& [t, v] = cache[StackSlot(tag)];
  return t == tag ? v : fallback;
}

}  // namespace chunk_prediction_internal

template <class Coder>
void WalkPredictedColumns(const PredictionInputs& in, PredictionScratch* s, Coder& coder) {
  namespace p = chunk_prediction_internal;
  const size_t n = in.seq.size();
  if (n == 0) return;
  s->Reset(n, in.thread_count);
  // Seqs missing between first and last: bounds the search for a linked row.
  const uint64_t total_gap =
      static_cast<uint64_t>(in.seq[n - 1]) - static_cast<uint64_t>(in.seq[0]) - (n - 1);
  for (size_t i = 0; i < n; ++i) {
    const p::OpPrediction& op = p::kOpPredictions[in.op[i]];
    const uint32_t t = in.thread_index[i];
    uint64_t* last = &s->last_addr[t * p::kAddrKinds + op.addr_kind];
    PredictionScratch::Link& link = s->links[i];
    const bool linked = link.valid;
    link.valid = false;
    const uint64_t addr_guess = linked ? link.addr : (op.addr_kind == p::kNoAddr ? 0 : *last);
    const uint64_t addr = coder.Addr(i, addr_guess);
    const uint64_t size = coder.Size(i, linked && op.size_from_link ? link.size : 0);
    const uint64_t arg_guess = op.arg_from == p::kArgThreadAddr ? s->thread_addr[t]
                               : op.arg_from == p::kArgRowAddr  ? addr
                                                                : 0;
    coder.Arg(i, arg_guess);

    uint64_t* thread_stack = &s->thread_stack[t * 2 + op.role];
    const uint64_t stack_guess =
        linked ? p::Lookup(s->release_stack_of, link.stack, *thread_stack) : *thread_stack;
    const uint64_t stack = coder.Stack(i, stack_guess);
    auto& sp_slot = s->sp_depth_of[p::StackSlot(stack)];
    const uint64_t sp_depth = coder.SpDepth(i, sp_slot.first == stack ? sp_slot.second : 0);

    if (addr != 0 && op.addr_kind != p::kNoAddr) *last = addr;
    s->thread_addr[t] = addr;
    *thread_stack = stack;
    sp_slot = {stack, sp_depth};
    if (linked) s->release_stack_of[p::StackSlot(link.stack)] = {link.stack, stack};
    if (in.free_after[i] > 0) {
      // Without gaps the linked row is at the distance itself.
      const auto distance = static_cast<uint64_t>(in.free_after[i]);
      const int64_t j = total_gap != 0     ? p::LinkedRow(in, i, total_gap)
                        : distance < n - i ? static_cast<int64_t>(i + distance)
                                           : -1;
      if (j >= 0) s->links[j] = {.addr = addr, .size = size, .stack = stack, .valid = true};
    }
  }
}

}  // namespace atr

#endif  // ATR_DB_EVENT_CHUNK_PREDICTION_H_
