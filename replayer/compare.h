// Compare: one trace replayed through several allocators, side by side
// (`atr compare`). The built-in model runs under a few configurations that
// answer common questions (TCMalloc's fullest-span policy, its size-class
// table, no thread caches); real allocators run in the driver child.
//
//   CompareOptions o;  // default list
//   ATR_ASSIGN_OR_RETURN(std::vector<CompareRow> rows, RunCompare(&reader, o));
#ifndef ATR_REPLAYER_COMPARE_H_
#define ATR_REPLAYER_COMPARE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/trace_reader.h"
#include "replayer/replay_result.h"

namespace atr::replay {

// builtin, builtin-fullest, builtin-tcmalloc-classes, builtin-no-cache,
// system, jemalloc, tcmalloc, mimalloc.
std::vector<std::string> DefaultCompareAllocators();

// The built-in configuration an allocator name stands for: "builtin",
// the named variants above, or "builtin:key=value:key=value". nullopt:
// not a built-in name.
std::optional<std::vector<std::string>> BuiltinVariant(const std::string& name);

struct CompareOptions {
  std::vector<std::string> allocators = DefaultCompareAllocators();
  std::optional<int32_t> pid{};
  bool store = true;              // write every replay into the trace
  bool real_threads = false;
  std::function<void(const std::string& allocator, int64_t seq)> progress{};
};

struct CompareRow {
  std::string allocator;          // as listed
  bool ran = false;               // false: skipped (see note)
  std::string note;               // why it was skipped, or a problem summary
  ReplaySummary summary;
  int64_t replay_id = 0;          // replays.id when stored
};

// Errors only for an unreadable trace or an unwritable one (with store);
// an allocator that is missing or fails is a row with a note.
absl::StatusOr<std::vector<CompareRow>> RunCompare(TraceReader* reader, const CompareOptions& o);

}  // namespace atr::replay

#endif  // ATR_REPLAYER_COMPARE_H_
