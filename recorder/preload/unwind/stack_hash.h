// The id of a captured stack: a 64-bit hash of its pcs that the collector
// maps to the stack (stacks_by_hash); never 0, which means "no stack".
//
// Built as a sum of one term per frame, each term depending on the pc and
// its distance from the OUTERMOST frame. So the sum over a stack's outer
// frames (a suffix, innermost-first) is the same in every stack that shares
// those frames, whatever sits above them: the remembering walk
// (walk_memo.h) keeps these partial sums and an event pays only for its
// fresh inner frames. The terms are independent (no chain of multiplies),
// so a full hash is bound by throughput, not latency.
//
//   uint64_t id = HashStack(pcs, depth);
//   // == FinishStackHash(SuffixSum(pcs, 0, depth), depth)
#ifndef ATR_RECORDER_PRELOAD_UNWIND_STACK_HASH_H_
#define ATR_RECORDER_PRELOAD_UNWIND_STACK_HASH_H_

#include <cstdint>

namespace atr::unwind {

// The term of a pc `from_bottom` frames above the outermost one.
inline uint64_t StackHashTerm(uint64_t pc, uint32_t from_bottom) {
  uint64_t x = (pc ^ (uint64_t{from_bottom} * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 31);
}

// Sum of the terms of pcs[from, depth) of a stack `depth` deep.
inline uint64_t SuffixSum(const uint64_t* pcs, uint32_t from, uint32_t depth) {
  uint64_t s = 0;
  for (uint32_t i = from; i < depth; ++i) s += StackHashTerm(pcs[i], depth - 1 - i);
  return s;
}

// The id from the sum of all of a stack's terms.
inline uint64_t FinishStackHash(uint64_t sum, uint32_t depth) {
  uint64_t h = sum ^ (uint64_t{depth} * 0x94D049BB133111EBull);
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return h == 0 ? 1 : h;
}

inline uint64_t HashStack(const uint64_t* pcs, uint32_t depth) {
  return FinishStackHash(SuffixSum(pcs, 0, depth), depth);
}

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_STACK_HASH_H_
