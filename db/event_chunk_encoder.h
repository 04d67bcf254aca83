// EventChunkEncoder: turns a run of events (EventColumns) into one event
// chunk blob and its zone map. The blob is self-contained: a decoder needs
// nothing else (no other chunk, no zone map) to get the columns back
// exactly. Format: docs/trace-format.md, "Event chunks"; per-column
// transforms: db/event_chunk_prediction.h and the encoder's source.
//
// Thread-compatible: one encoder per thread; it keeps its zstd context and
// buffers from chunk to chunk: once warm, encoding allocates only the zone
// map's thread list.
//
//   atr::EventChunkEncoder encoder;
//   std::string blob;
//   atr::ChunkZoneMap zone;
//   if (absl::Status s = encoder.Encode(columns, &blob, &zone); !s.ok()) ...
#ifndef ATR_DB_EVENT_CHUNK_ENCODER_H_
#define ATR_DB_EVENT_CHUNK_ENCODER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "db/byte_planes.h"
#include "db/chunk_zone_map.h"
#include "db/event_chunk_format.h"
#include "db/event_chunk_prediction.h"
#include "db/event_columns.h"

struct ZSTD_CCtx_s;

namespace atr {

class EventChunkEncoder {
 public:
  // Level 1: on byte planes it is within 0.5% of level 3's size and
  // encodes ~1.4x faster (docs/benchmarks.md, "Event chunks").
  static constexpr int kDefaultZstdLevel = 1;

  explicit EventChunkEncoder(int zstd_level = kDefaultZstdLevel);
  ~EventChunkEncoder();
  EventChunkEncoder(const EventChunkEncoder&) = delete;
  EventChunkEncoder& operator=(const EventChunkEncoder&) = delete;

  // Replaces *blob with the chunk and *zone with its zone map. Fails with
  // one line, writing nothing, unless CheckChunkColumns(columns) is OK (and
  // if zstd itself fails, leaving *blob unspecified).
  absl::Status Encode(const EventColumns& columns, std::string* blob, ChunkZoneMap* zone);

 private:
  // Appends the section of one column of residuals to *blob.
  absl::Status AppendSection(ChunkColumn column, absl::Span<const uint64_t> residuals,
                             std::string* blob);

  ZSTD_CCtx_s* cctx_;
  std::vector<uint64_t> residuals_;       // one column at a time
  std::vector<uint64_t> addr_residuals_;  // the predicted columns, filled together
  std::vector<uint64_t> size_residuals_;
  std::vector<uint64_t> arg_residuals_;
  std::vector<uint64_t> stack_residuals_;
  std::vector<uint64_t> sp_depth_residuals_;
  std::vector<uint32_t> thread_index_;
  PredictionScratch prediction_;
  std::string payload_;
  std::string frame_;
};

}  // namespace atr

#endif  // ATR_DB_EVENT_CHUNK_ENCODER_H_
