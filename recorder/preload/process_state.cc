// Process-wide state of the preload library: lazy initialization, the shared
// control page, the per-image spool file and its first chunk, fork children,
// thread exit and process exit.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "recorder/preload/next_functions.h"
#include "recorder/preload/preload.h"
#include "recorder/preload/unwind/unwind_report.h"

namespace atr::preload {

__thread ThreadLocal tls __attribute__((tls_model("initial-exec"))) = {};

namespace {
constexpr uint64_t kNotLive = 0;
}  // namespace

constinit Globals g = {
    .state{static_cast<int>(GlobalState::kUninit)},
    .live = &kNotLive,
    .control = nullptr,
    .spool_fd = -1,
    .pid = 0,
    .image = 0,
    .unwinder = Unwinder::kTable,
    .max_depth = 64,
    .free_stacks = true,
    .stack_ops = false,
    .flush_ticks = 300'000'000,
    .self_lo = 0,
    .self_hi = 0,
    .regions{nullptr},
    .pending_lost{0},
};

namespace {

constexpr size_t kPathMax = 4096;
char g_spool_dir[kPathMax];
char g_self_path[kPathMax];
char g_exe_path[kPathMax];
// ATR_* settings as found at init, re-injected into exec'd environments.
constexpr int kSavedEnvCount = 6;
char g_saved_env[kSavedEnvCount][256];
uint64_t* g_live_page;  // MADV_WIPEONFORK page; [0] == kLiveWord while live
pthread_key_t g_exit_key;
// The first chunk of a spool file is built here; used by the initializing
// thread only (init is serialized, a forked child has one thread).
alignas(8) uint8_t g_scratch[kHeaderReserve + 64 * 1024];

uint64_t MonoNs(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

// Opens or creates <dir>/control and maps it. The creator zero-fills it and
// publishes the magic last; racers wait for the magic.
spool::ControlPage* MapControlPage(const char* dir) {
  char path[kPathMax + 16];
  char* p = AppendStr(path, path + sizeof(path) - 1, dir);
  p = AppendStr(p, path + sizeof(path) - 1, "/");
  p = AppendStr(p, path + sizeof(path) - 1, spool::kControlFileName);
  *p = '\0';
  bool creator = false;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      creator = true;
      if (ftruncate(fd, 4096) != 0) {
        close(fd);
        return nullptr;
      }
    } else if (errno == EEXIST) {
      fd = open(path, O_RDWR | O_CLOEXEC);
    }
  }
  if (fd < 0) return nullptr;
  if (!creator) {
    // The winner may not have sized the file yet.
    for (int i = 0; i < 2000; ++i) {
      struct stat st;
      if (fstat(fd, &st) == 0 && st.st_size >= 4096) break;
      struct timespec ts = {0, 500'000};
      nanosleep(&ts, nullptr);
    }
  }
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return nullptr;
  auto* cp = static_cast<spool::ControlPage*>(m);
  if (creator) {
    cp->version = spool::kSpoolVersion;
    cp->unwinder = static_cast<uint32_t>(g.unwinder);
    __atomic_store_n(&cp->magic, spool::ControlPage::kMagic, __ATOMIC_RELEASE);
  } else {
    for (int i = 0; i < 2000; ++i) {
      if (__atomic_load_n(&cp->magic, __ATOMIC_ACQUIRE) == spool::ControlPage::kMagic) break;
      struct timespec ts = {0, 500'000};
      nanosleep(&ts, nullptr);
    }
    if (__atomic_load_n(&cp->magic, __ATOMIC_ACQUIRE) != spool::ControlPage::kMagic ||
        cp->version != spool::kSpoolVersion) {
      munmap(m, 4096);
      return nullptr;
    }
  }
  return cp;
}

// Creates <dir>/<pid>.<n>.spool for the first free n (0, or the next image
// after an exec) and moves the descriptor high, away from fds programs
// commonly close or dup2 onto.
bool OpenSpoolFile() {
  for (uint32_t n = 0; n < 10000; ++n) {
    char path[kPathMax + 64];
    char* end = path + sizeof(path) - 1;
    char* p = AppendStr(path, end, g_spool_dir);
    p = AppendStr(p, end, "/");
    p = AppendUint(p, end, g.pid);
    p = AppendStr(p, end, ".");
    p = AppendUint(p, end, n);
    p = AppendStr(p, end, spool::kSpoolSuffix);
    *p = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return false;
    }
    struct rlimit rl;
    int target = 1000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024) {
      target = static_cast<int>(rl.rlim_cur) - 24;
    }
    if (target > fd) {
      int high = fcntl(fd, F_DUPFD_CLOEXEC, target);
      if (high >= 0) {
        close(fd);
        fd = high;
      }
    }
    g.spool_fd = fd;
    g.image = n;
    g.control->processes_started.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

uint64_t MeasureTscHz() {
  uint64_t ns0 = MonoNs(CLOCK_MONOTONIC);
  uint64_t t0 = ReadTsc();
  uint64_t ns1;
  do {
    ns1 = MonoNs(CLOCK_MONOTONIC);
  } while (ns1 - ns0 < 2'000'000);
  uint64_t t1 = ReadTsc();
  return static_cast<uint64_t>(static_cast<double>(t1 - t0) * 1e9 /
                               static_cast<double>(ns1 - ns0));
}

int FindSelf(struct dl_phdr_info* info, size_t, void*) {
  auto me = reinterpret_cast<uintptr_t>(&FindSelf);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph.p_vaddr;
    if (a < lo) lo = a;
    if (a + ph.p_memsz > hi) hi = a + ph.p_memsz;
  }
  if (me < lo || me >= hi) return 0;
  g.self_lo = lo;
  g.self_hi = hi;
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
    if (realpath(info->dlpi_name, g_self_path) == nullptr) {
      char* p = AppendStr(g_self_path, g_self_path + kPathMax - 1, info->dlpi_name);
      *p = '\0';
    }
  }
  return 1;
}

// Reads a whole small file (procfs) into buf; returns bytes read.
size_t ReadSmallFile(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<size_t>(r);
  }
  close(fd);
  return n;
}

// ProcessRecord, then ModuleRecords for every object (their own chunks),
// then the kProcessStart event.
void WriteProcessChunks() {
  uint8_t* rec = g_scratch + kHeaderReserve;
  constexpr uint32_t kCap = sizeof(g_scratch) - kHeaderReserve;
  // Leave room: ProcessRecord bytes must fit a uint16.
  constexpr uint32_t kMaxProcessRecord = 65528;
  auto* pr = reinterpret_cast<spool::ProcessRecord*>(rec);
  memset(pr, 0, sizeof(*pr));
  pr->h.type = spool::RecordType::kProcess;
  pr->h.op = static_cast<uint8_t>(spool::kSpoolVersion);
  pr->ppid = static_cast<uint32_t>(getppid());
  pr->mono_ns = MonoNs(CLOCK_MONOTONIC);
  pr->tsc = ReadTsc();
  pr->real_ns = MonoNs(CLOCK_REALTIME);
  pr->tsc_hz = g.control->tsc_hz.load(std::memory_order_relaxed);
  pr->image = g.image;
  char* p = reinterpret_cast<char*>(rec + sizeof(*pr));
  char* end = reinterpret_cast<char*>(rec) + (kMaxProcessRecord < kCap ? kMaxProcessRecord : kCap) - 8;
  p = AppendStr(p, end - 1, g_exe_path);
  *p++ = '\0';
  char cwd[kPathMax];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) cwd[0] = '\0';
  p = AppendStr(p, end - 1, cwd);
  *p++ = '\0';
  // argv from procfs: works for lazy init before any constructor ran.
  char* args = p;
  size_t room = static_cast<size_t>(end - p);
  size_t n = ReadSmallFile("/proc/self/cmdline", args, room);
  uint32_t argc = 0;
  size_t last_end = 0;
  for (size_t i = 0; i < n; ++i) {
    if (args[i] == '\0') {
      ++argc;
      last_end = i + 1;
    }
  }
  p = args + last_end;  // drop a truncated last argument
  pr->argc = argc;
  uint32_t bytes = static_cast<uint32_t>(reinterpret_cast<uint8_t*>(p) - rec);
  uint32_t padded = spool::RoundUp8(bytes);
  memset(rec + bytes, 0, padded - bytes);
  pr->h.bytes = static_cast<uint16_t>(padded);
  uint32_t tid = tls.region ? tls.region->tid : Gettid();
  WriteDirectChunk(rec, padded, tid);

  SyncModules(/*force_all=*/true);

  spool::EventRecord ev = {};
  ev.h = {spool::RecordType::kEvent, static_cast<uint8_t>(Op::kProcessStart),
          sizeof(spool::EventRecord)};
  ev.seq = NextSeq();
  ev.tsc = ReadTsc();
  ev.arg = pr->ppid;
  memcpy(rec, &ev, sizeof(ev));
  WriteDirectChunk(rec, sizeof(ev), tid);
}

void ThreadExitDestructor(void*) {
  ThreadLocal& t = tls;
  if (++t.exit_passes < PTHREAD_DESTRUCTOR_ITERATIONS) {
    // Run again in the next pass: other keys' destructors may still free.
    InternalScope in;
    pthread_setspecific(g_exit_key, reinterpret_cast<void*>(1));
    return;
  }
  FinishThread(/*final=*/true);
}

void OnExit(int status, void*) {
  HookScope s;
  if (!s.recording()) return;
  s.Record(Op::kProcessExit, 0, 0, static_cast<uint32_t>(status));
  // Threads still running keep recording; from now on they write each event
  // at once (the exit may end them before their buffers fill).
  SetWriteThroughAll();
  FlushOwn(s);
  FlushAllRegions(/*from_signal=*/false);
}

bool InitRecording() {
  const char* dir = getenv(spool::kEnvSpoolDir);
  if (dir == nullptr || dir[0] == '\0' || StrLen(dir) >= kPathMax - 64) return false;
  char* e = AppendStr(g_spool_dir, g_spool_dir + kPathMax - 1, dir);
  *e = '\0';

  const char* saved_names[kSavedEnvCount] = {spool::kEnvUnwind,     spool::kEnvMaxDepth,
                                             spool::kEnvFreeStacks,  spool::kEnvStackOps,
                                             kEnvUnwindCrosscheck,   kEnvUnwindStats};
  for (int i = 0; i < kSavedEnvCount; ++i) {
    const char* v = getenv(saved_names[i]);
    g_saved_env[i][0] = '\0';
    if (v == nullptr || StrLen(v) > 200) continue;
    char* q = AppendStr(g_saved_env[i], g_saved_env[i] + 255, saved_names[i]);
    q = AppendStr(q, g_saved_env[i] + 255, "=");
    q = AppendStr(q, g_saved_env[i] + 255, v);
    *q = '\0';
  }
  if (const char* u = getenv(spool::kEnvUnwind)) {
    if (strcmp(u, "fp") == 0) {
      g.unwinder = Unwinder::kFramePointer;
    } else if (strcmp(u, "table") == 0) {
      g.unwinder = Unwinder::kTable;
    } else if (strcmp(u, "none") == 0) {
      g.unwinder = Unwinder::kNone;
    } else {
      g.unwinder = Unwinder::kLibunwind;
    }
  }
  if (const char* d = getenv(spool::kEnvMaxDepth)) {
    uint64_t v = 0;
    for (const char* c = d; *c >= '0' && *c <= '9'; ++c) v = v * 10 + static_cast<uint64_t>(*c - '0');
    if (v > kMaxDepthLimit) v = kMaxDepthLimit;
    g.max_depth = static_cast<uint32_t>(v);
    if (g.max_depth == 0) g.unwinder = Unwinder::kNone;
  }
  if (const char* f = getenv(spool::kEnvFreeStacks)) g.free_stacks = strcmp(f, "0") != 0;
  if (const char* f = getenv(spool::kEnvStackOps)) g.stack_ops = strcmp(f, "1") == 0;

  g.control = MapControlPage(g_spool_dir);
  if (g.control == nullptr) return false;

  g_live_page = static_cast<uint64_t*>(MapAnon(4096));
  if (g_live_page == nullptr) return false;
  // Without MADV_WIPEONFORK (Linux < 4.14) only hooked forks are noticed.
  syscall(SYS_madvise, g_live_page, 4096, MADV_WIPEONFORK);

  g.pid = static_cast<uint32_t>(getpid());
  uint64_t hz = g.control->tsc_hz.load(std::memory_order_relaxed);
  if (hz == 0) {
    hz = MeasureTscHz();
    uint64_t zero = 0;
    g.control->tsc_hz.compare_exchange_strong(zero, hz);
  }
  g.flush_ticks = hz / 10;  // ~100 ms

  ssize_t n = readlink("/proc/self/exe", g_exe_path, kPathMax - 1);
  g_exe_path[n > 0 ? n : 0] = '\0';
  dl_iterate_phdr(&FindSelf, nullptr);
  if (pthread_key_create(&g_exit_key, &ThreadExitDestructor) != 0) return false;
  if (!OpenSpoolFile()) return false;
  WriteProcessChunks();
  InstallCrashHandlers();
  on_exit(&OnExit, nullptr);
  uint64_t pending = g.pending_lost.exchange(0);
  if (pending != 0) CountLost(pending);
  return true;
}

__attribute__((constructor)) void PreloadConstructor() {
  ResolveNextFunctions();  // done already if any hook ran before
  EnsureInitialized();
}

__attribute__((destructor)) void PreloadDestructor() {
  HookScope s;
  if (!s.recording()) return;
  FlushOwn(s);
  FlushAllRegions(/*from_signal=*/false);
}

}  // namespace

// ---------------------------------------------------------------- helpers

size_t StrLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

char* AppendStr(char* p, const char* end, const char* s) {
  while (*s != '\0' && p < end) *p++ = *s++;
  return p;
}

char* AppendUint(char* p, const char* end, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0 && p < end) *p++ = tmp[--n];
  return p;
}

void* MapAnon(size_t bytes) {
  long r = syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == -1) return nullptr;
  return reinterpret_cast<void*>(r);
}

void UnmapRaw(void* p, size_t bytes) { syscall(SYS_munmap, p, bytes); }

uint32_t Gettid() { return static_cast<uint32_t>(syscall(SYS_gettid)); }

void CountLost(uint64_t n) {
  if (g.control != nullptr) {
    g.control->lost_events.fetch_add(n, std::memory_order_relaxed);
  } else {
    g.pending_lost.fetch_add(n, std::memory_order_relaxed);
  }
}

const char* SpoolDir() { return g_spool_dir; }
const char* SelfPath() { return g_self_path; }
const char* SavedEnv(int i) { return i < kSavedEnvCount ? g_saved_env[i] : nullptr; }
int SavedEnvCount() { return kSavedEnvCount; }
const char* ExePath() { return g_exe_path; }

bool IsRecording() {
  return g.state.load(std::memory_order_acquire) == static_cast<int>(GlobalState::kRecording);
}

void EnsureInitialized() {
  int expected = static_cast<int>(GlobalState::kUninit);
  if (!g.state.compare_exchange_strong(expected, static_cast<int>(GlobalState::kInitializing))) {
    return;
  }
  // Too early (called by the loader before libc set up environ): decide later.
  if (environ == nullptr) {
    g.state.store(static_cast<int>(GlobalState::kUninit));
    return;
  }
  bool ok;
  {
    InternalScope in;
    ok = InitRecording();
  }
  if (ok) {
    g_live_page[0] = kLiveWord;
    g.live = g_live_page;
    g.state.store(static_cast<int>(GlobalState::kRecording), std::memory_order_release);
  } else {
    g.state.store(static_cast<int>(GlobalState::kDisabled), std::memory_order_release);
  }
}

void OnForkedChild() {
  if (!IsRecording()) return;
  uint32_t pid = static_cast<uint32_t>(getpid());
  if (pid == g.pid && *g.live == kLiveWord) return;  // already set up
  InternalScope in;
  g.pid = pid;
  ThreadRegion* own = tls.region;
  ResetRegionsAfterFork(own);
  if (own != nullptr) {
    own->tid = Gettid();
    own->creator_tid = 0;
    tls.need_thread_record = 1;
  }
  tls.creator_tid = 0;
  ResetModulesAfterFork();
  close(g.spool_fd);
  g.spool_fd = -1;
  if (!OpenSpoolFile()) {
    g.state.store(static_cast<int>(GlobalState::kDisabled));
    return;
  }
  WriteProcessChunks();
  g_live_page[0] = kLiveWord;
}

ThreadRegion* InitThisThread() {
  InternalScope in;
  ThreadRegion* r = AcquireRegion();
  if (r == nullptr) return nullptr;
  r->tid = Gettid();
  r->creator_tid = tls.creator_tid;
  r->flush_ticks = g.flush_ticks;
  r->stack_lo = r->stack_hi = 0;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      r->stack_lo = reinterpret_cast<uintptr_t>(addr);
      r->stack_hi = r->stack_lo + size;
    }
    pthread_attr_destroy(&attr);
  }
  InitUnwinderForThread();
  pthread_setspecific(g_exit_key, reinterpret_cast<void*>(1));
  tls.need_thread_record = 1;
  return r;
}

void FinishThread(bool final) {
  HookScope s;
  if (!s.recording()) return;
  ThreadLocal& t = tls;
  if (!t.exit_recorded) {
    t.exit_recorded = 1;
    s.Record(Op::kThreadExit, 0, 0, 0);
    EmitThreadRecord(s, /*exiting=*/true);
  }
  FlushOwn(s);
  if (final) {
    // Late events (glibc's own teardown) are written one by one; the region
    // is reused once the kernel says the thread is gone.
    t.region->flush_ticks = 0;
    t.region->state.store(static_cast<uint32_t>(RegionState::kRetired),
                          std::memory_order_release);
  }
}

}  // namespace atr::preload
