// How every command spells numbers for people: bytes in binary units,
// counts with thousands separators, durations in the largest fitting unit.
// Machine output (JSON, CSV) carries the raw integers instead.
//
//   FormatBytes(1536)       // "1.50 KiB"
//   FormatCount(1234567)    // "1,234,567"
//   FormatDuration(2500000) // "2.5 ms"
#ifndef ATR_BASE_NUMBER_FORMAT_H_
#define ATR_BASE_NUMBER_FORMAT_H_

#include <cstdint>
#include <string>

namespace atr {

// 1536 -> "1.50 KiB"; below 1 KiB exact bytes ("512 B").
std::string FormatBytes(int64_t bytes);
// 1234567 -> "1,234,567"
std::string FormatCount(int64_t n);
// nanoseconds -> "1.234 s", "12.3 ms", "45 us"
std::string FormatDuration(int64_t ns);

}  // namespace atr

#endif  // ATR_BASE_NUMBER_FORMAT_H_
