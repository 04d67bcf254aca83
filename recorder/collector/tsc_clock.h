// TscClock: converts rdtsc readings taken in traced processes into
// CLOCK_MONOTONIC nanoseconds.
//
// The preload library timestamps events with rdtsc (9.5 ns against 21.5 ns
// for clock_gettime; docs/recorder.md, "Clock") and pairs one reading with
// CLOCK_MONOTONIC when each process starts. The rate comes from the
// process's own measurement if it made one, else from Calibrate(), run by
// the collector on the same machine (invariant TSC is assumed, as on every
// x86-64 machine of this project's kind).
//
//   TscClock clock = TscClock::Calibrate();
//   int64_t ns = clock.ToMonotonicNs(tsc, ref_tsc, ref_mono_ns);
#ifndef ATR_RECORDER_COLLECTOR_TSC_CLOCK_H_
#define ATR_RECORDER_COLLECTOR_TSC_CLOCK_H_

#include <cstdint>

namespace atr {

class TscClock {
 public:
  TscClock() = default;
  explicit TscClock(double ticks_per_ns) : ticks_per_ns_(ticks_per_ns) {}

  // Measures the TSC rate against CLOCK_MONOTONIC over about 20 ms.
  static TscClock Calibrate();
  static uint64_t Now();  // rdtsc

  // Time of `tsc`, given a simultaneous reference pair.
  int64_t ToMonotonicNs(uint64_t tsc, uint64_t ref_tsc, int64_t ref_mono_ns) const {
    double delta = static_cast<double>(static_cast<int64_t>(tsc - ref_tsc));
    return ref_mono_ns + static_cast<int64_t>(delta / ticks_per_ns_);
  }
  double ticks_per_ns() const { return ticks_per_ns_; }

 private:
  double ticks_per_ns_ = 1.0;
};

int64_t MonotonicNowNs();
int64_t RealtimeNowNs();

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_TSC_CLOCK_H_
