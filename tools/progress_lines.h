// One progress line per labelled phase, for commands that run several
// replays in a row (atr whatif, atr frag --verify): a new label erases the
// previous line and starts another. Silent when disabled (not a terminal,
// or -q).
//
//   WhatIfProgress p = ProgressLines(!quiet && ProgressLine::StderrIsTerminal());
//   p("replaying as recorded", seq, last_seq);
#ifndef ATR_TOOLS_PROGRESS_LINES_H_
#define ATR_TOOLS_PROGRESS_LINES_H_

#include <memory>
#include <optional>
#include <string>

#include "analysis/reports/whatif_report.h"
#include "recorder/collector/progress_line.h"

namespace atr::cli {

// The line is erased when the last copy of the returned function is gone.
inline WhatIfProgress ProgressLines(bool enabled) {
  if (!enabled) return nullptr;
  struct State {
    std::string label;
    std::optional<ProgressLine> line;
  };
  auto state = std::make_shared<State>();
  return [state](const std::string& label, int64_t seq, int64_t last) {
    if (!state->line || label != state->label) {
      state->line.reset();
      state->line.emplace(true, label);
      state->label = label;
    }
    state->line->Update(seq, last);
  };
}

}  // namespace atr::cli

#endif  // ATR_TOOLS_PROGRESS_LINES_H_
