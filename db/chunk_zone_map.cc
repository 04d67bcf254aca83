#include "db/chunk_zone_map.h"

#include <algorithm>
#include <limits>

namespace atr {

ChunkZoneMap ComputeZoneMap(const EventColumns& c) {
  ChunkZoneMap z;
  const size_t n = c.seq.size();
  z.first_seq = c.seq.front();
  z.last_seq = c.seq.back();
  z.n = static_cast<uint32_t>(n);
  const auto [min_ts, max_ts] = std::minmax_element(c.ts_ns.begin(), c.ts_ns.end());
  z.min_ts_ns = *min_ts;
  z.max_ts_ns = *max_ts;
  uint64_t lo = std::numeric_limits<uint64_t>::max(), hi = 0;
  for (uint64_t a : c.addr) {
    if (a == 0) continue;
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  if (hi != 0) {
    z.min_addr = lo;
    z.max_addr = hi;
  }
  for (uint8_t op : c.op) z.ops.Add(op);
  z.threads.assign(c.thread.begin(), c.thread.end());
  std::sort(z.threads.begin(), z.threads.end());
  z.threads.erase(std::unique(z.threads.begin(), z.threads.end()), z.threads.end());
  return z;
}

}  // namespace atr
