#include "base/progress_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

namespace atr {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool ProgressLine::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void ProgressLine::Update(int64_t done, int64_t total) {
  if (!enabled_) return;
  int64_t now = SteadyNowNs();
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

PhaseProgress ProgressLines(bool enabled) {
  if (!enabled) return nullptr;
  struct State {
    std::string label;
    std::optional<ProgressLine> line;
  };
  auto state = std::make_shared<State>();
  return [state](const std::string& label, int64_t done, int64_t total) {
    if (!state->line || label != state->label) {
      state->line.reset();
      state->line.emplace(true, label);
      state->label = label;
    }
    state->line->Update(done, total);
  };
}

}  // namespace atr
