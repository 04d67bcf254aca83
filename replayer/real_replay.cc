#include "replayer/real_replay.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "replayer/builtin_replay.h"
#include "replayer/op_stream.h"
#include "replayer/replay_engine.h"

extern char** environ;

namespace atr::replay {
namespace {

#if defined(__x86_64__)
constexpr const char* kMultiarch = "x86_64-linux-gnu";
#elif defined(__aarch64__)
constexpr const char* kMultiarch = "aarch64-linux-gnu";
#else
constexpr const char* kMultiarch = "";
#endif

bool Readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string ErrnoText() { return std::strerror(errno); }

// Writes the op stream while the engine replays the trace.
class StreamBackend : public ReplayBackend {
 public:
  StreamBackend(std::FILE* out, int64_t interval) : out_(out), interval_(interval) {
    peak_every_ = std::max<int64_t>(1, interval / 8);
  }
  void set_engine(const ReplayEngine* engine) { engine_ = engine; }

  absl::StatusOr<uint64_t> Acquire(const EventRow& e, uint64_t size, uint64_t align) override {
    const uint32_t slot = NewSlot();
    const uint16_t thread = Thread(e.thread);
    if (e.op == Op::kRealloc || e.op == Op::kReallocArray) {
      if (held_ == Held::kRelease && held_thread_ == thread) {
        Put(ops::kReallocFrom, thread, held_slot_, 0);
        Put(ops::kRealloc, thread, slot, size);
        held_ = Held::kNone;
        FreeSlot(held_slot_);
        return slot;
      }
      FlushHeld();
      held_ = Held::kAcquire;
      held_slot_ = slot;
      held_size_ = size;
      held_thread_ = thread;
      return slot;
    }
    FlushHeld();
    if (align > 16) {
      Put(ops::kAligned, thread, slot, size, static_cast<uint8_t>(std::countr_zero(align)));
    } else {
      Put(e.op == Op::kCalloc ? ops::kCalloc : ops::kMalloc, thread, slot, size);
    }
    return slot;
  }

  absl::Status Release(const EventRow& e, uint64_t handle, int64_t alloc_seq) override {
    const uint32_t slot = static_cast<uint32_t>(handle);
    const uint16_t thread = Thread(e.thread);
    if (e.op == Op::kReallocRelease) {
      if (held_ == Held::kAcquire && held_thread_ == thread) {
        Put(ops::kReallocFrom, thread, slot, 0);
        Put(ops::kRealloc, thread, held_slot_, held_size_);
        held_ = Held::kNone;
        FreeSlot(slot);
        return absl::OkStatus();
      }
      FlushHeld();
      held_ = Held::kRelease;
      held_slot_ = slot;
      held_thread_ = thread;
      return absl::OkStatus();
    }
    FlushHeld();
    Put(ops::kFree, thread, slot, 0);
    FreeSlot(slot);
    return absl::OkStatus();
  }

  void AfterEvent(const EventRow& e, bool heap_op) override {
    ++n_;
    const int64_t live = static_cast<int64_t>(engine_->live_bytes());
    if (live > peak_live_ && n_ - last_peak_ >= peak_every_) {
      peak_live_ = live;
      last_peak_ = n_;
      Sample(e.seq, SampleKind::kPeakLive);
    }
    if (n_ % interval_ == 0) Sample(e.seq, SampleKind::kInterval);
  }

  void Sample(int64_t seq, SampleKind kind) {
    Put(ops::kSample, 0, static_cast<uint32_t>(kind), static_cast<uint64_t>(seq));
    Put(ops::kData, 0, 0, engine_->live_bytes());
    Put(ops::kData, 0, 0, engine_->live_objects());
  }

  void FlushHeld() {
    if (held_ == Held::kAcquire) {
      Put(ops::kRealloc, held_thread_, held_slot_, held_size_);  // realloc(NULL, n)
    } else if (held_ == Held::kRelease) {
      Put(ops::kFree, held_thread_, held_slot_, 0);  // realloc(p, 0)
      FreeSlot(held_slot_);
    }
    held_ = Held::kNone;
  }

  uint32_t threads() const { return static_cast<uint32_t>(next_thread_); }
  uint32_t slots() const { return next_slot_; }
  uint64_t records() const { return records_; }
  bool write_failed() const { return write_failed_; }

 private:
  enum class Held { kNone, kAcquire, kRelease };

  void Put(uint8_t kind, uint16_t thread, uint32_t slot, uint64_t size, uint8_t align_log2 = 0) {
    ops::Record r{kind, align_log2, thread, slot, size};
    if (std::fwrite(&r, sizeof r, 1, out_) != 1) write_failed_ = true;
    ++records_;
  }
  uint32_t NewSlot() {
    if (!free_slots_.empty()) {
      uint32_t s = free_slots_.back();
      free_slots_.pop_back();
      return s;
    }
    return next_slot_++;
  }
  void FreeSlot(uint32_t s) { free_slots_.push_back(s); }
  uint16_t Thread(int64_t thread) {
    size_t i = thread < 0 ? 0 : static_cast<size_t>(thread);
    if (i >= dense_.size()) dense_.resize(i + 1, -1);
    if (dense_[i] < 0) dense_[i] = next_thread_++;
    return static_cast<uint16_t>(dense_[i] & 0xffff);
  }

  std::FILE* out_;
  const int64_t interval_;
  int64_t peak_every_;
  const ReplayEngine* engine_ = nullptr;
  std::vector<uint32_t> free_slots_;
  uint32_t next_slot_ = 0;
  std::vector<int32_t> dense_;
  int32_t next_thread_ = 0;
  uint64_t records_ = 0;
  bool write_failed_ = false;
  int64_t n_ = 0, peak_live_ = 0, last_peak_ = 0;
  Held held_ = Held::kNone;
  uint32_t held_slot_ = 0;
  uint64_t held_size_ = 0;
  uint16_t held_thread_ = 0;
};

struct ChildOutput {
  std::string out;
  int status = 0;
};

absl::StatusOr<ChildOutput> RunDriver(const std::string& driver, const std::string& ops_path,
                                      const std::string& library, bool threads_real) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return absl::InternalError("pipe: " + ErrnoText());
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LD_PRELOAD=", 11) == 0) continue;
    env_store.emplace_back(*e);
  }
  if (!library.empty()) env_store.push_back("LD_PRELOAD=" + library);
  std::vector<char*> envp;
  for (std::string& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args_store = {driver, ops_path};
  if (threads_real) {
    args_store.push_back("--threads");
    args_store.push_back("real");
  }
  std::vector<char*> argv;
  for (std::string& s : args_store) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, driver.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return absl::NotFoundError(absl::StrCat("cannot start ", driver, ": ", std::strerror(rc)));
  }
  ChildOutput co;
  char buf[65536];
  while (true) {
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    co.out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  while (waitpid(pid, &co.status, 0) < 0 && errno == EINTR) {
  }
  return co;
}

int64_t ParseI(absl::string_view s) {
  int64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : -1;
}

}  // namespace

absl::StatusOr<ResolvedAllocator> ResolveAllocator(const std::string& name) {
  if (name == "system" || name == "glibc") return ResolvedAllocator{"system", ""};
  struct Known {
    const char* name;
    const char* soname;
    const char* package;
  };
  static constexpr Known kKnown[] = {
      {"jemalloc", "libjemalloc.so.2", "libjemalloc2"},
      {"tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"},
      {"mimalloc", "libmimalloc.so.2", "libmimalloc2.0"},
  };
  for (const Known& k : kKnown) {
    if (name != k.name) continue;
    for (std::string dir : {absl::StrCat("/usr/lib/", kMultiarch), absl::StrCat("/lib/", kMultiarch),
                            std::string("/usr/lib64"), std::string("/usr/lib"),
                            std::string("/usr/local/lib")}) {
      std::string path = absl::StrCat(dir, "/", k.soname);
      if (Readable(path)) return ResolvedAllocator{k.name, path};
    }
    return absl::NotFoundError(absl::StrCat(name, ": ", k.soname,
                                            " not found; install the Debian package ", k.package,
                                            " (apt-get install ", k.package, ")"));
  }
  if (name.find('/') != std::string::npos || name.ends_with(".so") ||
      name.find(".so.") != std::string::npos) {
    if (!Readable(name)) {
      return absl::NotFoundError(absl::StrCat("allocator library ", name, ": ", ErrnoText()));
    }
    char* real = realpath(name.c_str(), nullptr);
    std::string path = real ? real : name;
    std::free(real);
    return ResolvedAllocator{name, path};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown allocator '", name,
                   "'; use builtin, system, jemalloc, tcmalloc, mimalloc or a path to a malloc .so"));
}

absl::StatusOr<std::string> FindReplayDriver() {
  if (const char* env = std::getenv("ATR_REPLAY_DRIVER"); env != nullptr && *env != 0) {
    return std::string(env);
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return absl::InternalError("cannot find the running executable: " + ErrnoText());
  exe[n] = 0;
  std::string dir(exe);
  dir.resize(dir.rfind('/'));
  for (const std::string& candidate :
       {dir + "/" ATR_REPLAY_DRIVER_NAME, dir + "/../bin/" ATR_REPLAY_DRIVER_NAME}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(ATR_REPLAY_DRIVER_NAME, " not found next to ", exe,
                                          " (it is installed beside atr)"));
}

absl::StatusOr<ReplayRun> RunRealReplay(TraceReader* reader, const RealReplayOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ATR_ASSIGN_OR_RETURN(ResolvedAllocator alloc, ResolveAllocator(options.allocator));
  std::string driver = options.driver_path;
  if (driver.empty()) {
    ATR_ASSIGN_OR_RETURN(driver, FindReplayDriver());
  }
  ATR_ASSIGN_OR_RETURN(const ReplayScope scope,
                       ResolveReplayScope(*reader, options.pid, options.sample_every));
  const int32_t pid = scope.pid;
  const int64_t interval = scope.sample_every;

  const char* tmp = std::getenv("TMPDIR");
  std::string ops_path = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/atr-ops-XXXXXX");
  int fd = mkstemp(ops_path.data());
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", ops_path, ": ", ErrnoText()));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(fdopen(fd, "w+b"), &std::fclose);
  struct Unlink {
    std::string path;
    ~Unlink() { unlink(path.c_str()); }
  } unlink_later{ops_path};
  if (!out) return absl::InternalError("cannot open the op stream: " + ErrnoText());
  static thread_local char buffer[1 << 20];
  std::setvbuf(out.get(), buffer, _IOFBF, sizeof buffer);
  ops::Header header{};
  std::fwrite(&header, sizeof header, 1, out.get());

  StreamBackend backend(out.get(), interval);
  EngineOptions eo{.pid = pid,
                   .until_seq = options.until_seq,
                   .max_problems = options.max_problems,
                   .report_leaks = true,
                   .progress = options.progress,
                   .on_event = options.on_event};
  ReplayEngine engine(reader, eo, &backend);
  backend.set_engine(&engine);
  ATR_RETURN_IF_ERROR(engine.Run());
  backend.FlushHeld();
  backend.Sample(engine.last_seq(), SampleKind::kFinal);
  std::memcpy(header.magic, ops::kMagic, sizeof header.magic);
  header.threads = std::max<uint32_t>(1, backend.threads());
  header.slots = backend.slots();
  header.records = backend.records();
  if (std::fseek(out.get(), 0, SEEK_SET) != 0 ||
      std::fwrite(&header, sizeof header, 1, out.get()) != 1 || std::fflush(out.get()) != 0 ||
      backend.write_failed()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot write the op stream ", ops_path, ": ", ErrnoText()));
  }

  ATR_ASSIGN_OR_RETURN(ChildOutput co, RunDriver(driver, ops_path, alloc.library,
                                                 options.real_threads));
  ReplayRun run;
  std::string stats_source = "none";
  bool done = false;
  std::string error;
  for (absl::string_view line : absl::StrSplit(co.out, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f[0] == "stats" && f.size() >= 2) {
      stats_source = std::string(f[1]);
    } else if (f[0] == "sample" && f.size() >= 12) {
      ReplaySample s;
      s.seq = ParseI(f[1]);
      s.kind = static_cast<SampleKind>(ParseI(f[2]));
      s.live_objects = ParseI(f[3]);
      s.live_bytes = ParseI(f[4]);
      s.resident_bytes = std::max<int64_t>(0, ParseI(f[5]));
      s.allocated_bytes = ParseI(f[6]);
      if (s.allocated_bytes >= 0) s.internal_waste_bytes = s.allocated_bytes - s.live_bytes;
      s.free_slot_bytes = ParseI(f[7]);
      s.cached_bytes = ParseI(f[8]);
      s.retained_bytes = ParseI(f[9]);
      s.released_bytes = ParseI(f[10]);
      s.mapped_bytes = ParseI(f[11]);
      run.samples.push_back(s);
    } else if (f[0] == "done" && f.size() >= 2) {
      run.summary.allocator_ns = ParseI(f[1]);
      done = true;
    } else if (f[0] == "error") {
      error = std::string(line.substr(6));
    }
  }
  if (!done) {
    std::string why;
    if (WIFSIGNALED(co.status)) {
      why = absl::StrCat("killed by signal ", WTERMSIG(co.status), " (", strsignal(WTERMSIG(co.status)),
                         ")");
    } else {
      why = absl::StrCat("exit status ", WEXITSTATUS(co.status));
    }
    return absl::InternalError(absl::StrCat("the ", alloc.name, " replay failed: ",
                                            error.empty() ? why : error));
  }

  ReplaySummary& s = run.summary;
  s.allocator = alloc.name;
  s.config = absl::StrCat("library=", alloc.library.empty() ? "libc" : alloc.library,
                          " threads=", options.real_threads ? "real" : "single",
                          " stats=", stats_source, " touch=page");
  s.threads = options.real_threads ? "real" : "single";
  s.pid = pid;
  s.until_seq = engine.stopped_early() ? options.until_seq : 0;
  s.started_utc = NowUtc();
  s.events = engine.events();
  s.heap_ops = engine.heap_ops();
  s.last_seq = engine.last_seq();
  SummarizeSamples(&run);
  // Live peaks are known exactly by the engine's bookkeeping; resident only
  // at the samples. The digest hashes the metrics (real addresses vary).
  Digest d;
  for (const ReplaySample& x : run.samples) {
    for (int64_t v : {x.seq, x.live_bytes, x.resident_bytes, x.allocated_bytes}) {
      d.Add(static_cast<uint64_t>(v));
    }
  }
  s.digest = d.Hex();
  TakeProblemsAndOutcome(engine, &run);
  s.duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  return run;
}

}  // namespace atr::replay
