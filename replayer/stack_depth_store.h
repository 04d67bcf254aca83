// StackStore: writes the stack side of a replay (`atr replay --stack-size N`)
// into the trace, next to the replay's heap results: one row per thread of
// the replayed process in replay_stack_threads (docs/stack-depth.md), keyed by the
// replays.id the heap side got from StoreReplay; db/ creates the table on
// first use (TableGroup::kStackDepthReplay). The path at each point is a
// stacks.id, so the frames are one join away.
//
//   ATR_ASSIGN_OR_RETURN(int64_t id, StoreReplay(path, run));
//   ATR_RETURN_IF_ERROR(StoreStackDepthReplay(path, id, model));
#ifndef ATR_REPLAYER_STACK_DEPTH_STORE_H_
#define ATR_REPLAYER_STACK_DEPTH_STORE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "replayer/stack_depth_model.h"

namespace atr::replay {

// Appends one row per thread the model saw, in one transaction. The model's
// stack_size option is the size checked. Fails with one line naming the file
// (read-only, locked, not a trace); nothing is written then.
// REQUIRES: replay_id names a stored replay of the same events.
absl::Status StoreStackDepthReplay(const std::string& trace_path, int64_t replay_id,
                              const StackDepthModel& model);

}  // namespace atr::replay

#endif  // ATR_REPLAYER_STACK_DEPTH_STORE_H_
