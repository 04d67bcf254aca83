// Constants of the event chunk blob shared by its encoder and decoder. The
// layout, byte by byte, is in docs/trace-format.md ("Event chunks"):
//
//   u8 codec version | varint n | thread dictionary | base seq | base ts |
//   one section per column, in ChunkColumn order:
//     u8 width | varint exceptions | u8 storage | varint payload bytes |
//     [varint zstd frame bytes] | payload (byte planes + exceptions) or its zstd frame
//
// Changing any of this is a new kEventChunkCodecVersion; decoders refuse
// versions they do not know.
#ifndef ATR_DB_EVENT_CHUNK_FORMAT_H_
#define ATR_DB_EVENT_CHUNK_FORMAT_H_

#include <cstdint>

namespace atr {

inline constexpr uint8_t kEventChunkCodecVersion = 1;

// The column sections, in blob order.
enum class ChunkColumn : uint8_t {
  kSeq,
  kTs,
  kThread,
  kOp,
  kAddr,
  kSize,
  kArg,
  kStack,
  kSpDepth,
  kFreeAfter,
};
inline constexpr int kChunkColumnCount = 10;

constexpr const char* ChunkColumnName(ChunkColumn c) {
  constexpr const char* kNames[kChunkColumnCount] = {
      "seq", "ts_ns", "thread", "op", "addr", "size", "arg", "stack", "sp_depth", "free_after"};
  return kNames[static_cast<int>(c)];
}

// How a section's payload is stored.
enum class SectionStorage : uint8_t {
  kRaw = 0,   // the payload bytes as they are
  kZstd = 1,  // one zstd frame that decompresses to exactly the payload
};

// Payloads shorter than this are stored raw: a zstd frame's own header and
// tables cost more than it could save.
inline constexpr uint64_t kMinCompressedPayload = 64;

}  // namespace atr

#endif  // ATR_DB_EVENT_CHUNK_FORMAT_H_
