#include "recorder/collector/tsc_clock.h"

#include <time.h>
#include <x86intrin.h>

#include <utility>

namespace atr {

int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000ll + ts.tv_nsec;
}

int64_t RealtimeNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1'000'000'000ll + ts.tv_nsec;
}

uint64_t TscClock::Now() { return __rdtsc(); }

TscClock TscClock::Calibrate() {
  // Two (tsc, monotonic) pairs 20 ms apart; each pair is taken as the
  // tightest of a few tries so a preemption between the two reads does not
  // skew it.
  auto pair = [] {
    uint64_t best_tsc = 0;
    int64_t best_ns = 0;
    uint64_t best_gap = ~0ull;
    for (int i = 0; i < 5; ++i) {
      uint64_t t0 = __rdtsc();
      int64_t ns = MonotonicNowNs();
      uint64_t t1 = __rdtsc();
      if (t1 - t0 < best_gap) {
        best_gap = t1 - t0;
        best_tsc = t0 + (t1 - t0) / 2;
        best_ns = ns;
      }
    }
    return std::pair{best_tsc, best_ns};
  };
  auto [tsc0, ns0] = pair();
  timespec wait{0, 20'000'000};
  nanosleep(&wait, nullptr);
  auto [tsc1, ns1] = pair();
  return TscClock(static_cast<double>(tsc1 - tsc0) / static_cast<double>(ns1 - ns0));
}

}  // namespace atr
