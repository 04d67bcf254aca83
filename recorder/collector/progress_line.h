// ProgressLine: "symbolizing  1,234 / 5,678 frames" on a terminal, redrawn
// at most ten times a second and erased when done. Silent when disabled
// (stderr is not a terminal, or --quiet), so scripts and logs stay clean.
#ifndef ATR_RECORDER_COLLECTOR_PROGRESS_LINE_H_
#define ATR_RECORDER_COLLECTOR_PROGRESS_LINE_H_

#include <cstdint>
#include <string>

namespace atr {

class ProgressLine {
 public:
  ProgressLine(bool enabled, std::string label) : enabled_(enabled), label_(std::move(label)) {}
  ~ProgressLine() { Done(); }
  void Update(int64_t done, int64_t total);
  void Done();

  // True when stderr is a terminal.
  static bool StderrIsTerminal();

 private:
  bool enabled_;
  std::string label_;
  int64_t last_draw_ns_ = 0;
  bool drawn_ = false;
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_PROGRESS_LINE_H_
