// Byte-level primitives of the event chunk format (docs/trace-format.md,
// "Event chunks"): LEB128 varints, zig-zag signed integers, and a bounds-
// checked reader that turns running past the end of a blob, or a varint that
// does not fit 64 bits, into one line of error naming the field being read.
//
//   std::string out;
//   atr::PutVarint(&out, atr::ZigZag(-3));
//   atr::ChunkByteReader r(out);
//   uint64_t v;
//   if (absl::Status s = r.ReadVarint("base ts", &v); !s.ok()) return s;
#ifndef ATR_DB_CHUNK_BYTES_H_
#define ATR_DB_CHUNK_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace atr {

// Zig-zag: small magnitudes of either sign become small unsigned values
// (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...). A bijection on 64 bits.
constexpr uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

// Appends v as a LEB128 varint: 7 bits per byte, low group first, high bit
// set on every byte but the last (1 to 10 bytes).
void PutVarint(std::string* out, uint64_t v);

// Reads a blob front to back; never reads outside it. Errors name `what`.
class ChunkByteReader {
 public:
  explicit ChunkByteReader(std::string_view data) : data_(data) {}

  absl::Status ReadByte(const char* what, uint8_t* v);
  // Fails on a varint running past the end or encoding more than 64 bits.
  // Inline for the common case (decoders read one per exception).
  absl::Status ReadVarint(const char* what, uint64_t* v) {
    if (remaining() >= 10) {  // no bounds check per byte
      const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos_);
      uint64_t result = 0;
      for (int i = 0; i < 9; ++i) {
        result |= static_cast<uint64_t>(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
          pos_ += i + 1;
          *v = result;
          return absl::OkStatus();
        }
      }
    }
    return ReadVarintSlow(what, v);  // near the end, or ten bytes
  }
  // The next `n` bytes, without copying.
  absl::Status ReadBytes(const char* what, uint64_t n, std::string_view* bytes);

  size_t remaining() const { return data_.size() - pos_; }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  absl::Status ReadVarintSlow(const char* what, uint64_t* v);

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace atr

#endif  // ATR_DB_CHUNK_BYTES_H_
