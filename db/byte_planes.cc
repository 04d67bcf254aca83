#include "db/byte_planes.h"

#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/chunk_bytes.h"

namespace atr {
namespace {

// Bytes needed for v: 0 for 0, else 1..8.
inline int ByteLength(uint64_t v) { return (std::bit_width(v) + 7) / 8; }

// Estimated payload bytes for width w, from counts[b] = values of byte
// length b. An exception costs its high bytes (as a varint, 8 bits in 7)
// plus about two bytes of row gap and varint overhead.
uint64_t EstimatedPayload(const std::array<uint64_t, 9>& counts, uint64_t n, int w) {
  uint64_t bytes = n * static_cast<uint64_t>(w);
  for (int b = w + 1; b <= 8; ++b) bytes += counts[b] * (((b - w) * 8 + 6) / 7 + 2);
  return bytes;
}

// out[i] = the w plane bytes of row i, low byte first. W is a template
// parameter so the loop has no inner loop and vectorizes.
template <int W>
void CombinePlanes(const uint8_t* planes, size_t n, uint64_t* __restrict out) {
  if constexpr (W == 0) {
    std::memset(out, 0, n * sizeof(uint64_t));
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint64_t v = 0;
    for (int k = 0; k < W; ++k) v |= static_cast<uint64_t>(planes[k * n + i]) << (8 * k);
    out[i] = v;
  }
}

// CombinePlanes<W> for widths 0..8, indexed by width.
template <size_t... W>
constexpr std::array<void (*)(const uint8_t*, size_t, uint64_t*), sizeof...(W)> CombineTable(
    std::index_sequence<W...>) {
  return {&CombinePlanes<static_cast<int>(W)>...};
}
constexpr auto kCombine = CombineTable(std::make_index_sequence<9>());

}  // namespace

PlaneLayout PackBytePlanes(absl::Span<const uint64_t> values, std::string* out) {
  const uint64_t n = values.size();
  std::array<uint64_t, 9> counts{};
  for (uint64_t v : values) ++counts[ByteLength(v)];
  // The narrowest of equally small widths (all zero: width 0, no payload).
  int best = 0;
  uint64_t best_bytes = EstimatedPayload(counts, n, 0);
  for (int w = 1; w <= 8; ++w) {
    const uint64_t bytes = EstimatedPayload(counts, n, w);
    if (bytes < best_bytes) best = w, best_bytes = bytes;
  }
  PlaneLayout layout{.width = static_cast<uint8_t>(best)};
  for (int b = best + 1; b <= 8; ++b) layout.exceptions += counts[b];

  const size_t start = out->size();
  out->resize(start + n * best);
  uint8_t* planes = reinterpret_cast<uint8_t*>(out->data() + start);
  for (int k = 0; k < best; ++k) {
    uint8_t* plane = planes + k * n;
    for (size_t i = 0; i < n; ++i) plane[i] = static_cast<uint8_t>(values[i] >> (8 * k));
  }
  if (layout.exceptions != 0) {
    const int shift = 8 * best;  // < 64: width 8 has no exceptions
    uint64_t next_row = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t high = values[i] >> shift;
      if (high == 0) continue;
      PutVarint(out, i - next_row);
      PutVarint(out, high);
      next_row = i + 1;
    }
  }
  return layout;
}

absl::Status CheckPlaneLayout(PlaneLayout layout, uint64_t n) {
  if (layout.width > 8) {
    return absl::DataLossError(
        absl::StrCat("byte width ", static_cast<int>(layout.width), " is more than 8"));
  }
  if (layout.exceptions > n || (layout.width == 8 && layout.exceptions != 0)) {
    return absl::DataLossError(absl::StrCat(layout.exceptions, " exceptions do not fit ", n,
                                            " values of ", static_cast<int>(layout.width),
                                            " bytes"));
  }
  return absl::OkStatus();
}

uint64_t MaxPlanePayload(PlaneLayout layout, uint64_t n) {
  // Two varints of at most 10 bytes each per exception.
  return n * layout.width + layout.exceptions * 20;
}

absl::Status UnpackBytePlanes(std::string_view payload, PlaneLayout layout,
                              absl::Span<uint64_t> out) {
  const uint64_t n = out.size();
  const int w = layout.width;
  if (absl::Status s = CheckPlaneLayout(layout, n); !s.ok()) return s;
  ChunkByteReader reader(payload);
  std::string_view planes;
  if (absl::Status s = reader.ReadBytes("byte planes", n * w, &planes); !s.ok()) return s;
  kCombine[w](reinterpret_cast<const uint8_t*>(planes.data()), n, out.data());

  const int shift = 8 * w;
  uint64_t next_row = 0;
  for (uint64_t e = 0; e < layout.exceptions; ++e) {
    uint64_t gap = 0, high = 0;
    if (absl::Status s = reader.ReadVarint("exception row", &gap); !s.ok()) return s;
    if (absl::Status s = reader.ReadVarint("exception value", &high); !s.ok()) return s;
    if (gap >= n - next_row) {
      return absl::DataLossError(
          absl::StrCat("exception ", e, " names a row past the ", n, " events"));
    }
    if (shift != 0 && (high >> (64 - shift)) != 0) {
      return absl::DataLossError(
          absl::StrCat("exception ", e, " does not fit 64 bits above its planes"));
    }
    const uint64_t row = next_row + gap;
    out[row] |= high << shift;
    next_row = row + 1;
  }
  if (!reader.AtEnd()) {
    return absl::DataLossError(
        absl::StrCat(reader.remaining(), " bytes left over after the values"));
  }
  return absl::OkStatus();
}

}  // namespace atr
