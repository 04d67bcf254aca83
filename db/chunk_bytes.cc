#include "db/chunk_bytes.h"

#include "absl/strings/str_cat.h"

namespace atr {

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int len = 0;
  while (v >= 0x80) {
    buf[len++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[len++] = static_cast<char>(v);
  out->append(buf, len);
}

absl::Status ChunkByteReader::ReadByte(const char* what, uint8_t* v) {
  if (pos_ >= data_.size()) {
    return absl::DataLossError(
        absl::StrCat("truncated: ", what, " runs past the end of the chunk"));
  }
  *v = static_cast<uint8_t>(data_[pos_++]);
  return absl::OkStatus();
}

absl::Status ChunkByteReader::ReadVarintSlow(const char* what, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) {
      return absl::DataLossError(
          absl::StrCat("truncated: ", what, " runs past the end of the chunk"));
    }
    const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    // The tenth byte holds bit 63 only.
    if (shift == 63 && b > 1) {
      return absl::DataLossError(absl::StrCat(what, ": varint does not fit 64 bits"));
    }
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return absl::OkStatus();
    }
  }
  return absl::DataLossError(absl::StrCat(what, ": varint does not fit 64 bits"));
}

absl::Status ChunkByteReader::ReadBytes(const char* what, uint64_t n, std::string_view* bytes) {
  if (n > remaining()) {
    return absl::DataLossError(absl::StrCat("truncated: ", what, " needs ", n, " bytes, ",
                                            remaining(), " left in the chunk"));
  }
  *bytes = data_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

}  // namespace atr
