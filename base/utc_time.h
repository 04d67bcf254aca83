// The current wall-clock time in UTC, spelled by a strftime format: the one
// place that reads the clock for the time stamps traces and reports carry
// (replays.started_utc, the HTML report's footer).
//
//   UtcNow("%Y-%m-%dT%H:%M:%SZ")   // "2026-12-08T06:45:00Z"
#ifndef ATR_BASE_UTC_TIME_H_
#define ATR_BASE_UTC_TIME_H_

#include <string>

namespace atr {

// REQUIRES: the formatted text fits in 63 bytes (it is cut there otherwise).
std::string UtcNow(const char* strftime_format);

}  // namespace atr

#endif  // ATR_BASE_UTC_TIME_H_
