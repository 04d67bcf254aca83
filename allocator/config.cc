#include "allocator/config.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "allocator/size_classes.h"

namespace atr::alloc {
namespace {

// Enum spellings: the single place where each value's name lives.
template <typename E>
struct EnumNames;
template <>
struct EnumNames<SizeClassTable> {
  static constexpr std::array<std::pair<SizeClassTable, absl::string_view>, 3>
      kNames = {{{SizeClassTable::kGo, "go"},
                 {SizeClassTable::kTcmalloc, "tcmalloc"},
                 {SizeClassTable::kCustom, "custom"}}};
};
template <>
struct EnumNames<ReturnPolicy> {
  static constexpr std::array<std::pair<ReturnPolicy, absl::string_view>, 2>
      kNames = {{{ReturnPolicy::kBatch, "batch"}, {ReturnPolicy::kAll, "all"}}};
};
template <>
struct EnumNames<SpanPolicy> {
  static constexpr std::array<std::pair<SpanPolicy, absl::string_view>, 2>
      kNames = {{{SpanPolicy::kMostRecentlyUsed, "mru"},
                 {SpanPolicy::kFullest, "fullest"}}};
};
template <>
struct EnumNames<FitPolicy> {
  static constexpr std::array<std::pair<FitPolicy, absl::string_view>, 2>
      kNames = {{{FitPolicy::kFirstFit, "first"}, {FitPolicy::kBestFit, "best"}}};
};
template <>
struct EnumNames<ScavengePolicy> {
  static constexpr std::array<std::pair<ScavengePolicy, absl::string_view>, 4>
      kNames = {{{ScavengePolicy::kOff, "off"},
                 {ScavengePolicy::kEager, "eager"},
                 {ScavengePolicy::kIdle, "idle"},
                 {ScavengePolicy::kTarget, "target"}}};
};

std::string FormatValue(uint64_t v) { return absl::StrCat(v); }
std::string FormatValue(const std::string& v) { return v; }
template <typename E>
std::string FormatValue(E v) {
  for (const auto& [value, name] : EnumNames<E>::kNames) {
    if (value == v) return std::string(name);
  }
  return "?";
}

absl::Status ParseValue(absl::string_view key, absl::string_view text,
                        uint64_t* out) {
  // Accept decimal, 0x-hex and a binary suffix (k, m, g) because sizes are
  // what people type most.
  uint64_t multiplier = 1;
  absl::string_view digits = text;
  if (!digits.empty()) {
    switch (absl::ascii_tolower(digits.back())) {
      case 'k': multiplier = 1ull << 10; break;
      case 'm': multiplier = 1ull << 20; break;
      case 'g': multiplier = 1ull << 30; break;
      default: break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  uint64_t v = 0;
  bool ok = absl::StartsWith(digits, "0x")
                ? absl::SimpleHexAtoi(digits.substr(2), &v)
                : absl::SimpleAtoi(digits, &v);
  if (!ok || (multiplier != 1 && v > (~0ull) / multiplier)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config key '", key, "': '", text,
        "' is not an unsigned integer (decimal, 0x hex, optional k/m/g suffix)"));
  }
  *out = v * multiplier;
  return absl::OkStatus();
}
absl::Status ParseValue(absl::string_view key, absl::string_view text,
                        std::string* out) {
  if (text.find_first_of(" \t\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key '", key, "': value must not contain spaces"));
  }
  *out = std::string(text);
  return absl::OkStatus();
}
template <typename E>
absl::Status ParseValue(absl::string_view key, absl::string_view text, E* out) {
  std::vector<absl::string_view> accepted;
  for (const auto& [value, name] : EnumNames<E>::kNames) {
    if (name == text) {
      *out = value;
      return absl::OkStatus();
    }
    accepted.push_back(name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("config key '", key, "': '", text, "' is not one of ",
                   absl::StrJoin(accepted, ", ")));
}

std::vector<absl::string_view> AllKeys() {
  return {
#define ATR_ALLOC_TUNABLE(type, field, key, def, help) key,
#include "allocator/config.def"
#undef ATR_ALLOC_TUNABLE
  };
}

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

const std::vector<TunableInfo>& Tunables() {
  static const auto* kTunables = new std::vector<TunableInfo>{
#define ATR_ALLOC_TUNABLE(type, field, key, def, help) \
  TunableInfo{key, FormatValue(Config{}.field), help},
#include "allocator/config.def"
#undef ATR_ALLOC_TUNABLE
  };
  return *kTunables;
}

absl::Status ApplyConfigOption(absl::string_view key_value, Config* cfg) {
  size_t eq = key_value.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config option '", key_value, "' is not of the form key=value"));
  }
  absl::string_view key = absl::StripAsciiWhitespace(key_value.substr(0, eq));
  absl::string_view value =
      absl::StripAsciiWhitespace(key_value.substr(eq + 1));
#define ATR_ALLOC_TUNABLE(type, field, k, def, help) \
  if (key == k) return ParseValue(key, value, &cfg->field);
#include "allocator/config.def"
#undef ATR_ALLOC_TUNABLE
  return absl::InvalidArgumentError(
      absl::StrCat("unknown config key '", key,
                   "'; known keys: ", absl::StrJoin(AllKeys(), ", ")));
}

absl::StatusOr<Config> ParseConfig(absl::Span<const std::string> key_values) {
  Config cfg;
  for (const std::string& kv : key_values) {
    if (absl::Status st = ApplyConfigOption(kv, &cfg); !st.ok()) return st;
  }
  if (absl::Status st = ValidateConfig(cfg); !st.ok()) return st;
  return cfg;
}

absl::Status ValidateConfig(const Config& cfg) {
  auto bad = [](absl::string_view key, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key '", key, "': ", why));
  };
  if (!IsPowerOfTwo(cfg.os_page_size) || cfg.os_page_size < 512) {
    return bad("os_page_size", "must be a power of two >= 512");
  }
  if (!IsPowerOfTwo(cfg.page_size) || cfg.page_size < cfg.os_page_size) {
    return bad("page_size", "must be a power of two >= os_page_size");
  }
  if (cfg.page_size > (1ull << 30)) return bad("page_size", "must be <= 1g");
  if (cfg.arena_size == 0 || cfg.arena_size % cfg.page_size != 0) {
    return bad("arena_size", "must be a positive multiple of page_size");
  }
  if (cfg.arena_size / cfg.page_size > (1ull << 30)) {
    return bad("arena_size", "must be at most 2^30 pages");
  }
  if (cfg.address_base == 0 || cfg.address_base % cfg.arena_size != 0) {
    return bad("address_base", "must be a positive multiple of arena_size");
  }
  if (cfg.address_base > (1ull << 56)) {
    return bad("address_base", "must be below 2^56");
  }
  if (cfg.max_tail_waste_permille == 0 || cfg.max_tail_waste_permille > 1000) {
    return bad("max_tail_waste_permille", "must be in 1..1000");
  }
  if (cfg.size_classes != SizeClassTable::kCustom &&
      !cfg.custom_classes.empty()) {
    return bad("custom_classes", "is only allowed with size_classes=custom");
  }
  if (cfg.transfer_max_objects < 2 || cfg.transfer_max_objects > 4096) {
    return bad("thread_cache.max_batch", "must be in 2..4096");
  }
  if (cfg.transfer_bytes == 0) {
    return bad("thread_cache.batch_bytes", "must be positive");
  }
  if (cfg.thread_cache_bytes != 0 &&
      (cfg.thread_cache_max_objects < 1 ||
       cfg.thread_cache_max_objects > (1u << 20))) {
    return bad("thread_cache.max_objects", "must be in 1..1048576");
  }
  if (cfg.occupancy_lists < 1 || cfg.occupancy_lists > 64) {
    return bad("central.occupancy_lists", "must be in 1..64");
  }
  if (cfg.scavenge_policy == ScavengePolicy::kIdle &&
      cfg.scavenge_idle_events == 0) {
    return bad("scavenger.idle_events", "must be positive (or use policy=eager)");
  }
  if (cfg.scavenge_target_percent < 100 ||
      cfg.scavenge_target_percent > 100000) {
    return bad("scavenger.target_percent", "must be in 100..100000");
  }
  // The size-class table is validated by building it.
  absl::StatusOr<SizeClasses> classes = SizeClasses::Create(cfg);
  if (!classes.ok()) return classes.status();
  if (classes->max_size() > cfg.arena_size) {
    return bad("arena_size", "must hold the largest size-class span");
  }
  return absl::OkStatus();
}

std::string FormatConfig(const Config& cfg) {
  std::string out;
#define ATR_ALLOC_TUNABLE(type, field, key, def, help) \
  absl::StrAppend(&out, key, "=", FormatValue(cfg.field), "  # ", help, "\n");
#include "allocator/config.def"
#undef ATR_ALLOC_TUNABLE
  return out;
}

std::string SerializeConfig(const Config& cfg) {
  std::vector<std::string> parts;
#define ATR_ALLOC_TUNABLE(type, field, key, def, help) \
  parts.push_back(absl::StrCat(key, "=", FormatValue(cfg.field)));
#include "allocator/config.def"
#undef ATR_ALLOC_TUNABLE
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<Config> ParseSerializedConfig(absl::string_view serialized) {
  std::vector<std::string> parts =
      absl::StrSplit(serialized, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
  return ParseConfig(parts);
}

}  // namespace atr::alloc
