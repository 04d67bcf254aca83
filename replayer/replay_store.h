// ReplayStore: writes a replay's results into the trace it replayed, so they
// can be queried with SQL next to the events (docs/trace-format.md, "Replay
// tables"): replays, replay_samples, replay_spans, replay_blame and
// replay_problems, the replay table group that db/ creates on first use
// (db/table_groups.h). Adding them does not change the trace's schema
// version.
//
//   ATR_ASSIGN_OR_RETURN(int64_t id, StoreReplay("run.db", run));
#ifndef ATR_REPLAYER_REPLAY_STORE_H_
#define ATR_REPLAYER_REPLAY_STORE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "db/trace_reader.h"
#include "replayer/replay_result.h"

namespace atr::replay {

// Opens the trace read-write, appends one replay in one transaction and
// returns its replays.id. Fails with one line naming the file (read-only
// file, locked, not a trace...); nothing is written then. `counterfactual`
// names the change a counterfactual replay made to the recorded program
// (replays.counterfactual, e.g. "segregate keep_session"); empty (NULL) for
// a replay of the program as recorded. A replays table from before that
// column gets it on the first store (db/ upgrades the group).
absl::StatusOr<int64_t> StoreReplay(const std::string& trace_path, const ReplayRun& run,
                                    const std::string& counterfactual = "");

// The id of the newest replay of the program as recorded (counterfactual
// replays are shown only when asked for by id) whose row satisfies `where`
// (SQL over replays, e.g. "allocator = 'builtin'"); 0 when there is none or
// the trace has no replays table. Every report that picks "the latest
// replay" goes through this, so they agree on which one it is.
absl::StatusOr<int64_t> NewestReplay(const TraceReader& reader, const std::string& where);

}  // namespace atr::replay

#endif  // ATR_REPLAYER_REPLAY_STORE_H_
