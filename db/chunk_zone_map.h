// ChunkZoneMap: what a reader needs to know about an event chunk without
// decoding it. A table of chunks stores these fields in plain columns beside
// the blob, so a scan with a seq, ts, addr, op or thread constraint can skip
// every chunk whose zone map rules it out. All bounds are inclusive and exact
// (computed from the events, not widened).
//
//   atr::ChunkZoneMap z = atr::ComputeZoneMap(columns);  // REQUIRES: size >= 1
//   if (z.HasOp(atr::Op::kFree) && z.max_ts_ns >= t0) ...decode the chunk...
#ifndef ATR_DB_CHUNK_ZONE_MAP_H_
#define ATR_DB_CHUNK_ZONE_MAP_H_

#include <array>
#include <cstdint>
#include <vector>

#include "db/event_columns.h"
#include "db/ops.h"

namespace atr {

// The op codes that occur: bit (code % 64) of words[code / 64]. Four words
// because op codes are bytes and the known ones already pass 64.
struct OpSet {
  std::array<uint64_t, 4> words{};

  void Add(uint8_t code) { words[code >> 6] |= uint64_t{1} << (code & 63); }
  bool Has(uint8_t code) const { return (words[code >> 6] >> (code & 63)) & 1; }

  friend bool operator==(const OpSet&, const OpSet&) = default;
};

struct ChunkZoneMap {
  int64_t first_seq = 0;  // seq of the first and last event
  int64_t last_seq = 0;
  uint32_t n = 0;         // events in the chunk
  int64_t min_ts_ns = 0;  // over every event (ts_ns is not ordered)
  int64_t max_ts_ns = 0;
  uint64_t min_addr = 0;         // over events with addr != 0, unsigned order;
  uint64_t max_addr = 0;         //   both 0 when every addr is 0
  OpSet ops;                     // op codes that occur
  std::vector<int64_t> threads;  // threads.id values that occur, ascending, distinct

  bool HasOp(Op op) const { return ops.Has(static_cast<uint8_t>(op)); }
  bool HasAddresses() const { return max_addr != 0; }

  friend bool operator==(const ChunkZoneMap&, const ChunkZoneMap&) = default;
};

// REQUIRES: CheckChunkColumns(c).ok().
ChunkZoneMap ComputeZoneMap(const EventColumns& c);

}  // namespace atr

#endif  // ATR_DB_CHUNK_ZONE_MAP_H_
