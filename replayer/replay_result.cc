#include "replayer/replay_result.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace atr::replay {

std::string_view SampleKindName(SampleKind k) {
  switch (k) {
    case SampleKind::kInterval: return "interval";
    case SampleKind::kPeakLive: return "peak_live";
    case SampleKind::kPeakResident: return "peak_resident";
    case SampleKind::kFinal: return "final";
  }
  return "interval";
}

std::string Digest::Hex() const { return absl::StrFormat("%016x", h_); }

void FinishRatios(ReplaySummary* s) {
  s->fragmentation_at_peak =
      s->peak_resident_bytes > 0
          ? 1.0 - static_cast<double>(s->live_at_peak_resident) /
                      static_cast<double>(s->peak_resident_bytes)
          : 0.0;
  if (s->peak_live_bytes > 0) {
    const double live = static_cast<double>(s->peak_live_bytes);
    s->jw3 = static_cast<double>(s->resident_at_peak_live) / live - 1.0;
    s->jw4 = static_cast<double>(s->peak_resident_bytes) / live - 1.0;
  } else {
    s->jw3 = s->jw4 = 0;
  }
}

void SummarizeSamples(ReplayRun* run) {
  ReplaySummary& s = run->summary;
  std::vector<ReplaySample>& v = run->samples;
  std::stable_sort(v.begin(), v.end(),
                   [](const ReplaySample& a, const ReplaySample& b) { return a.seq < b.seq; });
  double waste_area = 0, span = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const ReplaySample& x = v[i];
    if (x.live_bytes > s.peak_live_bytes) {
      s.peak_live_bytes = x.live_bytes;
      s.peak_live_seq = x.seq;
      s.resident_at_peak_live = x.resident_bytes;
    }
    if (x.resident_bytes > s.peak_resident_bytes) {
      s.peak_resident_bytes = x.resident_bytes;
      s.peak_resident_seq = x.seq;
      s.live_at_peak_resident = x.live_bytes;
    }
    if (i + 1 < v.size()) {
      const double w = static_cast<double>(v[i + 1].seq - x.seq);
      waste_area += w * static_cast<double>(x.resident_bytes - x.live_bytes);
      span += w;
    }
  }
  s.avg_waste_bytes = span > 0 ? waste_area / span
                               : (v.empty() ? 0 : static_cast<double>(v.back().resident_bytes -
                                                                      v.back().live_bytes));
  if (!v.empty()) {
    s.final_live_bytes = v.back().live_bytes;
    s.final_resident_bytes = v.back().resident_bytes;
  }
  FinishRatios(&s);
}

}  // namespace atr::replay
