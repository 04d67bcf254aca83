#include "recorder/collector/record_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "recorder/collector/spool_dir.h"
#include "recorder/collector/trace_finisher.h"
#include "recorder/spool_format.h"

namespace atr {
namespace {

namespace fs = std::filesystem;

// Forwarded to the child: a user's Ctrl-C reaches the whole foreground
// process group anyway, so the collector ignores SIGINT/SIGQUIT and keeps
// draining; SIGTERM/SIGHUP sent to atr alone are passed on.
volatile sig_atomic_t g_child_pid = 0;

void ForwardSignal(int sig) {
  if (g_child_pid > 0) kill(g_child_pid, sig);
}

std::string JoinEnvPath(const char* existing, const std::string& add) {
  if (!existing || !*existing) return add;
  return add + ":" + existing;
}

// Runs the command with the preload library. Exec failures come back
// through a close-on-exec pipe so the user sees one clear line.
absl::StatusOr<pid_t> Spawn(const RecordOptions& o, const std::string& preload,
                            const std::string& spool_dir) {
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<char*> argv;
  for (const std::string& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string ld_preload = JoinEnvPath(getenv("LD_PRELOAD"), preload);
  std::string depth = std::to_string(o.max_depth);

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    close(errpipe[0]);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    setenv("LD_PRELOAD", ld_preload.c_str(), 1);
    setenv(spool::kEnvSpoolDir, spool_dir.c_str(), 1);
    setenv(spool::kEnvUnwind, o.unwind.c_str(), 1);
    setenv(spool::kEnvMaxDepth, depth.c_str(), 1);
    setenv(spool::kEnvFreeStacks, o.free_stacks ? "1" : "0", 1);
    setenv(spool::kEnvStackOps, o.stack_ops ? "1" : "0", 1);
    execvp(argv[0], argv.data());
    int err = errno;
    ssize_t ignored = write(errpipe[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(errpipe[1]);
  int err = 0;
  ssize_t n;
  do {
    n = read(errpipe[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == sizeof err) {
    waitpid(pid, nullptr, 0);
    return absl::NotFoundError(
        absl::StrCat("cannot run '", o.command[0], "': ", std::strerror(err)));
  }
  return pid;
}

// ATR_RECORD_TIMINGS=1: one line on stderr with where the time went and the
// collector's own peak RSS (bench/record/run.sh parses it).
void PrintTimings(int64_t start, int64_t exited, int64_t drained, int64_t finished,
                  const CollectorStats& stats) {
  const char* env = getenv("ATR_RECORD_TIMINGS");
  if (env == nullptr || *env == 0 || *env == '0') return;
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  auto s = [](int64_t ns) { return static_cast<double>(ns) / 1e9; };
  std::fprintf(stderr,
               "atr-timings: events=%lld target_s=%.3f drain_after_exit_s=%.3f finish_s=%.3f "
               "total_s=%.3f collector_peak_rss_mb=%.1f\n",
               static_cast<long long>(stats.events), s(exited - start), s(drained - exited),
               s(finished - drained), s(finished - start), self.ru_maxrss / 1024.0);
}

void Nap() {
  timespec ts{0, 2'000'000};  // 2 ms: the spool is buffered by the target anyway
  nanosleep(&ts, nullptr);
}

}  // namespace

std::string DefaultOutputName(const std::string& command, int pid) {
  return absl::StrCat("atr.", fs::path(command).filename().string(), ".", pid, ".db");
}

absl::StatusOr<std::string> FindPreloadLibrary() {
  if (const char* env = getenv("ATR_PRELOAD"); env && *env) {
    if (access(env, R_OK) == 0) return std::string(env);
    return absl::NotFoundError(absl::StrCat("ATR_PRELOAD=", env, ": not readable"));
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {"../lib/libatr_preload.so", "../lib/atr/libatr_preload.so"}) {
      fs::path p = exe.parent_path() / rel;
      if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
    }
  }
  return absl::NotFoundError(
      "cannot find libatr_preload.so next to atr (set ATR_PRELOAD to its path)");
}

absl::StatusOr<RecordOutcome> Record(const RecordOptions& o) {
  if (o.command.empty()) return absl::InvalidArgumentError("no command to record (atr record -- CMD ARGS...)");
  auto preload = FindPreloadLibrary();
  if (!preload.ok()) return preload.status();

  // The trace is created first so an unwritable path fails before the
  // command runs.
  // Commits happen at the collector's checkpoints only, each with the
  // spool offsets it covers (spool_progress.h).
  TraceWriterOptions writer_options;
  writer_options.overwrite = o.overwrite;
  writer_options.commit_on_flush_only = true;
  auto writer = TraceWriter::Create(o.output, writer_options);
  if (!writer.ok()) return writer.status();
  auto spool = SpoolDir::Create(o.output + ".spool");
  if (!spool.ok()) return spool.status();

  int64_t start_mono = MonotonicNowNs();
  TraceStart start{.start_mono_ns = start_mono,
                   .start_real_ns = RealtimeNowNs(),
                   .argv = o.command,
                   .unwinder = o.unwind};
  if (auto s = WriteStartMeta(**writer, start); !s.ok()) return s;
  if (auto s = StartSpoolProgress(**writer, start_mono); !s.ok()) return s;
  Collector collector(writer->get(), {.start_mono_ns = start_mono,
                                      .clock = TscClock::Calibrate(),
                                      .checkpoints = true});
  absl::StatusOr<pid_t> child = Spawn(o, *preload, spool->path());
  if (!child.ok()) {
    spool->Remove();
    writer->reset();
    unlink(o.output.c_str());
    return child.status();
  }
  g_child_pid = *child;
  struct sigaction ignore {}, forward {}, old_int {}, old_quit {}, old_term {}, old_hup {};
  ignore.sa_handler = SIG_IGN;
  forward.sa_handler = ForwardSignal;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  sigaction(SIGTERM, &forward, &old_term);
  sigaction(SIGHUP, &forward, &old_hup);

  int wstatus = 0;
  absl::Status status;
  while (true) {
    pid_t r = waitpid(*child, &wstatus, WNOHANG);
    if (auto s = collector.DiscoverFiles(spool->path()); !s.ok()) status.Update(s);
    absl::StatusOr<int64_t> n = collector.Poll();
    if (!n.ok()) {
      status.Update(n.status());
      break;
    }
    if (r == *child) break;
    if (*n == 0) Nap();
  }
  g_child_pid = 0;
  const int64_t exited_mono = MonotonicNowNs();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);

  RecordOutcome out;
  std::optional<int32_t> exit_status, exit_signal;
  if (WIFEXITED(wstatus)) {
    exit_status = WEXITSTATUS(wstatus);
    out.exit_code = *exit_status;
  } else if (WIFSIGNALED(wstatus)) {
    exit_signal = WTERMSIG(wstatus);
    out.exit_code = 128 + *exit_signal;
  }
  if (!status.ok()) return status;
  // Processes the command left behind (daemons) may still write; what they
  // wrote so far is collected, the rest is theirs to lose.
  if (auto s = collector.DiscoverFiles(spool->path()); !s.ok()) return s;
  if (auto s = collector.Drain(); !s.ok()) return s;
  collector.SetRootExit(*child, exit_status, exit_signal);
  const int64_t drained_mono = MonotonicNowNs();
  start.end_real_ns = RealtimeNowNs();
  start.end_mono_ns = MonotonicNowNs();
  if (auto s = FinishTrace(**writer, collector, start,
                           {.symbolize = o.symbolize, .progress = o.progress});
      !s.ok()) {
    return s;
  }
  out.stats = collector.stats();
  writer->reset();
  PrintTimings(start_mono, exited_mono, drained_mono, MonotonicNowNs(), out.stats);
  spool->Remove();
  struct stat st {};
  if (stat(o.output.c_str(), &st) == 0) out.file_bytes = st.st_size;
  return out;
}

}  // namespace atr
