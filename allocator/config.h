// Configuration of the allocator model: one struct generated from config.def.
//
// Layout: Config holds one field per tunable, in config.def order, each
// initialised to its default, so `Config{}` is always the default (and valid)
// configuration. Tunables() lists key, default and help in the same order.
// Invariant: a Config accepted by ValidateConfig() never makes Heap::Create fail.
//
// Usage:
//   absl::StatusOr<Config> cfg = ParseConfig({"size_classes=tcmalloc",
//                                             "scavenger.policy=eager"});
//   if (!cfg.ok()) return cfg.status();       // "unknown key 'x'; ..."
//   std::string record = SerializeConfig(*cfg);  // stored with a replay
//   Config again = *ParseSerializedConfig(record);
#ifndef ATR_ALLOCATOR_CONFIG_H_
#define ATR_ALLOCATOR_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace atr::alloc {

enum class SizeClassTable : uint8_t { kGo, kTcmalloc, kCustom };
enum class ReturnPolicy : uint8_t { kBatch, kAll };
enum class SpanPolicy : uint8_t { kMostRecentlyUsed, kFullest };
enum class FitPolicy : uint8_t { kFirstFit, kBestFit };
enum class ScavengePolicy : uint8_t { kOff, kEager, kIdle, kTarget };

struct Config {
#define ATR_ALLOC_TUNABLE(type, field, key, def, help) type field = def;
#include "allocator/config.def"
#undef ATR_ALLOC_TUNABLE

  friend bool operator==(const Config&, const Config&) = default;
};

// One row of the tunables list, for --help output and the docs.
struct TunableInfo {
  absl::string_view key;
  std::string default_value;  // formatted as ParseConfig accepts it
  absl::string_view help;
};
const std::vector<TunableInfo>& Tunables();

// Applies one "key=value" to *cfg. Does not validate cross-field constraints.
absl::Status ApplyConfigOption(absl::string_view key_value, Config* cfg);

// Defaults, then each "key=value" in order (later ones win), then
// ValidateConfig(). Errors name the offending key and the accepted values.
absl::StatusOr<Config> ParseConfig(absl::Span<const std::string> key_values);

// Checks ranges and cross-field constraints (page sizes, custom classes...).
absl::Status ValidateConfig(const Config& cfg);

// The effective configuration, one "key=value  # help" line per tunable.
std::string FormatConfig(const Config& cfg);

// Every tunable as "key=value", space-separated, in config.def order: the
// record of which configuration produced a replay result.
std::string SerializeConfig(const Config& cfg);
absl::StatusOr<Config> ParseSerializedConfig(absl::string_view serialized);

}  // namespace atr::alloc

#endif  // ATR_ALLOCATOR_CONFIG_H_
