#include "recorder/collector/progress_line.h"

#include <unistd.h>

#include <cstdio>

#include "recorder/collector/tsc_clock.h"

namespace atr {

bool ProgressLine::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void ProgressLine::Update(int64_t done, int64_t total) {
  if (!enabled_) return;
  int64_t now = MonotonicNowNs();
  if (drawn_ && now - last_draw_ns_ < 100'000'000 && done != total) return;
  last_draw_ns_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r%s %lld / %lld", label_.c_str(), static_cast<long long>(done),
               static_cast<long long>(total));
  std::fflush(stderr);
}

void ProgressLine::Done() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace atr
