// Byte planes: how the event chunk codec lays out one column of unsigned
// residuals (docs/trace-format.md, "Event chunks"). With width w, plane k
// (k < w) holds byte k of every value, so value i is
//   plane[0][i] | plane[1][i] << 8 | ... | plane[w-1][i] << 8(w-1)
// and the few values that need more than w bytes are exceptions: a list of
// (row, value >> 8w) pairs after the planes that supplies their high bits.
// Byte-aligned planes decode with shifts and ors (no per-value branches, no
// varint parsing) and give zstd one byte of the same significance per run,
// which it compresses far better than interleaved values.
//
//   std::string payload;
//   atr::PlaneLayout layout = atr::PackBytePlanes(values, &payload);
//   ...
//   absl::Status s = atr::UnpackBytePlanes(payload, layout, absl::MakeSpan(out));
#ifndef ATR_DB_BYTE_PLANES_H_
#define ATR_DB_BYTE_PLANES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace atr {

struct PlaneLayout {
  uint8_t width = 0;        // bytes per value in the planes, 0..8
  uint64_t exceptions = 0;  // values that need more than `width` bytes; 0 when width is 8
};

// Chooses the width that makes the payload smallest (planes plus exception
// list, estimated from a histogram of byte lengths) and appends the payload
// to *out. The layout is written by the caller, in front of the payload.
PlaneLayout PackBytePlanes(absl::Span<const uint64_t> values, std::string* out);

// OK when `layout` can describe n values: width at most 8, at most n
// exceptions, none at width 8.
absl::Status CheckPlaneLayout(PlaneLayout layout, uint64_t n);

// The largest payload a checked layout can have for n values (every
// exception at its longest): a reader's bound before allocating.
uint64_t MaxPlanePayload(PlaneLayout layout, uint64_t n);

// Fills `out` (one value per row) from a payload written by PackBytePlanes
// with that layout. Verifies the layout, that the payload is exactly planes
// plus exception list, that exception rows are increasing and inside `out`,
// and that exception values fit above the planes.
absl::Status UnpackBytePlanes(std::string_view payload, PlaneLayout layout,
                              absl::Span<uint64_t> out);

}  // namespace atr

#endif  // ATR_DB_BYTE_PLANES_H_
