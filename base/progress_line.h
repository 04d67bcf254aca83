// Progress on a terminal, for long steps of any command (record, import,
// replay, compare, report, whatif).
//
// ProgressLine: "symbolizing frames 1234 / 5678" on stderr, redrawn at most
// ten times a second and erased when done. Silent when disabled (stderr is
// not a terminal, or --quiet), so scripts and logs stay clean.
//
//   ProgressLine line(!quiet && ProgressLine::StderrIsTerminal(), "symbolizing frames");
//   for (int64_t i = 0; i < n; ++i) { ...; line.Update(i + 1, n); }
//   // erased by Done() or the destructor
//
// PhaseProgress: a callback for code that runs several labelled phases in a
// row (atr whatif, atr frag --verify); ProgressLines() gives one line per
// phase, a new label erasing the previous line.
//
//   PhaseProgress p = ProgressLines(!quiet && ProgressLine::StderrIsTerminal());
//   if (p) p("replaying as recorded", seq, last_seq);
//
// Not thread-safe: one thread draws a line.
#ifndef ATR_BASE_PROGRESS_LINE_H_
#define ATR_BASE_PROGRESS_LINE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace atr {

class ProgressLine {
 public:
  ProgressLine(bool enabled, std::string label) : enabled_(enabled), label_(std::move(label)) {}
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() { Done(); }
  void Update(int64_t done, int64_t total);
  // Erases the line (if drawn); a later Update draws it again.
  void Done();

  // True when stderr is a terminal.
  static bool StderrIsTerminal();

 private:
  bool enabled_;
  std::string label_;
  int64_t last_draw_ns_ = 0;
  bool drawn_ = false;
};

// Progress of a phase named `label`: `done` of `total` steps.
using PhaseProgress = std::function<void(const std::string& label, int64_t done, int64_t total)>;

// A PhaseProgress drawing one ProgressLine per label, or nullptr when not
// `enabled`. The line is erased when the last copy of the function is gone.
PhaseProgress ProgressLines(bool enabled);

}  // namespace atr

#endif  // ATR_BASE_PROGRESS_LINE_H_
