// Fatal-signal handlers: write every complete record out, then let the
// signal take its previous (default) course.
//
// Installed only where the disposition is still SIG_DFL when the library
// initializes; a program that later installs its own handler replaces ours.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/preload/preload.h"

namespace atr::preload {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
struct sigaction g_previous[NSIG];

void OnFatalSignal(int sig, siginfo_t* info, void*) {
  int saved = errno;
  if (IsRecording() && *g.live == kLiveWord) FlushAllRegions(/*from_signal=*/true);
  sigaction(sig, &g_previous[sig], nullptr);
  // A fault re-executes the faulting instruction on return and dies with the
  // restored disposition; a sent signal (kill, raise, abort) is sent again
  // and delivered when this handler returns.
  if (info == nullptr || info->si_code <= 0 || sig == SIGABRT) {
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
  }
  errno = saved;
}

}  // namespace

void InstallCrashHandlers() {
  for (int sig : kFatalSignals) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if ((old.sa_flags & SA_SIGINFO) != 0 || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa = {};
    sa.sa_sigaction = &OnFatalSignal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &g_previous[sig]);
  }
}

}  // namespace atr::preload
