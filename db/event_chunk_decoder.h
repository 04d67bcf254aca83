// EventChunkDecoder: an event chunk blob back into EventColumns, verifying
// everything on the way, since a blob comes from a file anyone may have
// damaged. A blob that is not exactly what EventChunkEncoder writes (unknown
// codec version, truncated, bad zstd frame, sizes that do not add up,
// varints past the end, values that break the columns' invariants) gives an
// absl::Status with one line saying what is wrong; the caller adds which
// chunk (its first_seq). Never reads outside the blob, allocates about
// 140 bytes per event (columns, residuals, links, one section's payload)
// for at most kMaxChunkEvents events, and runs in
// time linear in the events and the blob's size.
// Format: docs/trace-format.md, "Event chunks".
//
// Thread-compatible: one decoder per thread; it keeps its zstd context and
// buffers from chunk to chunk.
//
//   atr::EventChunkDecoder decoder;
//   atr::EventColumns columns;
//   if (absl::Status s = decoder.Decode(blob, &columns); !s.ok())
//     return Annotate(s, "chunk at seq ", first_seq);
#ifndef ATR_DB_EVENT_CHUNK_DECODER_H_
#define ATR_DB_EVENT_CHUNK_DECODER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "db/chunk_bytes.h"
#include "db/event_chunk_format.h"
#include "db/event_chunk_prediction.h"
#include "db/event_columns.h"

struct ZSTD_DCtx_s;

namespace atr {

class EventChunkDecoder {
 public:
  EventChunkDecoder();
  ~EventChunkDecoder();
  EventChunkDecoder(const EventChunkDecoder&) = delete;
  EventChunkDecoder& operator=(const EventChunkDecoder&) = delete;

  // Bytes of the blob each column's section takes, in ChunkColumn order.
  using SectionBytes = std::array<uint64_t, kChunkColumnCount>;

  // Replaces *out with the chunk's events (and, if given, adds each
  // section's size to *section_bytes). On error *out is unspecified.
  absl::Status Decode(std::string_view blob, EventColumns* out,
                      SectionBytes* section_bytes = nullptr);

 private:
  // Reads the next column section into `residuals` (one per event).
  absl::Status ReadSection(ChunkByteReader& reader, ChunkColumn column,
                           absl::Span<uint64_t> residuals, SectionBytes* section_bytes);

  ZSTD_DCtx_s* dctx_;
  std::unique_ptr<char[]> payload_;  // decompressed section; not zero-filled
  uint64_t payload_capacity_ = 0;
  std::vector<int64_t> threads_;  // the chunk's thread dictionary
  std::vector<uint32_t> thread_index_;
  std::vector<uint64_t> residuals_;  // columns narrower than 64 bits
  PredictionScratch prediction_;
};

}  // namespace atr

#endif  // ATR_DB_EVENT_CHUNK_DECODER_H_
