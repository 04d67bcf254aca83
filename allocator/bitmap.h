// Word-at-a-time bit-range helpers shared by the residency and release maps.
//
// Layout: bit i lives in words[i / 64] at position i % 64.
// REQUIRES (all functions): [begin, end) lies inside the vector's bits.
#ifndef ATR_ALLOCATOR_BITMAP_H_
#define ATR_ALLOCATOR_BITMAP_H_

#include <bit>
#include <cstdint>
#include <vector>

namespace atr::alloc::bitmap {

inline bool Test(const std::vector<uint64_t>& w, uint64_t i) {
  return (w[i >> 6] >> (i & 63)) & 1;
}

// Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64.
inline uint64_t Mask(uint64_t lo, uint64_t hi) {
  uint64_t upper = hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  return upper & ~((uint64_t{1} << lo) - 1);
}

// Applies fn(word&, mask) to every word overlapping [begin, end).
template <typename Fn>
inline void ForEachWord(std::vector<uint64_t>& w, uint64_t begin, uint64_t end,
                        Fn fn) {
  while (begin < end) {
    uint64_t word = begin >> 6;
    uint64_t lo = begin & 63;
    uint64_t hi = (end - (word << 6)) >= 64 ? 64 : end - (word << 6);
    fn(w[word], Mask(lo, hi));
    begin = (word << 6) + hi;
  }
}

// Sets [begin, end); returns how many bits were 0 before.
inline uint64_t SetRange(std::vector<uint64_t>& w, uint64_t begin,
                         uint64_t end) {
  uint64_t changed = 0;
  ForEachWord(w, begin, end, [&](uint64_t& word, uint64_t mask) {
    changed += std::popcount(~word & mask);
    word |= mask;
  });
  return changed;
}

// Clears [begin, end); returns how many bits were 1 before.
inline uint64_t ClearRange(std::vector<uint64_t>& w, uint64_t begin,
                           uint64_t end) {
  uint64_t changed = 0;
  ForEachWord(w, begin, end, [&](uint64_t& word, uint64_t mask) {
    changed += std::popcount(word & mask);
    word &= ~mask;
  });
  return changed;
}

inline uint64_t CountRange(const std::vector<uint64_t>& w, uint64_t begin,
                           uint64_t end) {
  uint64_t n = 0;
  // ForEachWord needs a mutable vector only to share code; nothing is written.
  ForEachWord(const_cast<std::vector<uint64_t>&>(w), begin, end,
              [&](uint64_t& word, uint64_t mask) { n += std::popcount(word & mask); });
  return n;
}

}  // namespace atr::alloc::bitmap

#endif  // ATR_ALLOCATOR_BITMAP_H_
