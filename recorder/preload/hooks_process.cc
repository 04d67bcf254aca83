// Threads, processes and modules: pthread_create, fork/vfork, the exec
// family, posix_spawn, system, dlopen/dlclose, thread names, _exit.
//
// The real functions (next_functions.h) run with no guard held, so what
// they allocate (dlopen's loader, a new thread's first steps, atfork
// handlers) is recorded as the program's own activity.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <alloca.h>

#include "recorder/preload/next_functions.h"
#include "recorder/preload/preload.h"

using atr::Op;
using atr::preload::EventStamp;
using atr::preload::HookScope;
using atr::preload::InternalScope;

namespace atr::preload {
namespace {

inline uint64_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// ---- environment re-injection for exec'd children (as uftrace does)

bool HasPrefix(const char* s, const char* prefix, size_t n) { return strncmp(s, prefix, n) == 0; }

// An environment for an exec'd or spawned child that keeps recording:
// LD_PRELOAD names this library and ATR_SPOOL_DIR (and the ATR_* settings
// this process started with) are present. Built in its own mapping, never
// with malloc; unmapped by the destructor if the exec returns.
class ChildEnvironment {
 public:
  explicit ChildEnvironment(char* const* envp) : envp_(const_cast<char**>(envp)) {
    if (!IsRecording()) return;
    const char* self = SelfPath();
    if (self[0] == '\0') return;
    const char* base = strrchr(self, '/');
    base = base ? base + 1 : self;
    size_t n = 0;
    const char* old_preload = nullptr;
    bool preload_ok = false, has_dir = false;
    bool has_saved[8] = {};
    int saved_count = SavedEnvCount();
    for (; envp != nullptr && envp[n] != nullptr; ++n) {
      const char* e = envp[n];
      if (HasPrefix(e, "LD_PRELOAD=", 11)) {
        old_preload = e + 11;
        preload_ok = strstr(old_preload, base) != nullptr;
      } else if (HasPrefix(e, "ATR_SPOOL_DIR=", 14)) {
        has_dir = true;
      }
      for (int i = 0; i < saved_count; ++i) {
        const char* s = SavedEnv(i);
        const char* eq = strchr(s, '=');
        if (eq && HasPrefix(e, s, static_cast<size_t>(eq - s + 1))) has_saved[i] = true;
      }
    }
    if (preload_ok && has_dir) return;
    size_t strings = StrLen(self) + StrLen(SpoolDir()) + 64;
    if (old_preload) strings += StrLen(old_preload);
    for (int i = 0; i < saved_count; ++i) strings += StrLen(SavedEnv(i)) + 1;
    bytes_ = (n + 8) * sizeof(char*) + strings;
    bytes_ = (bytes_ + 4095) & ~size_t{4095};
    void* m = MapAnon(bytes_);
    if (m == nullptr) return;
    map_ = m;
    char** out = static_cast<char**>(m);
    char* str = reinterpret_cast<char*>(out + n + 8);
    char* str_end = static_cast<char*>(m) + bytes_ - 1;
    size_t k = 0;
    if (!preload_ok) {
      // Ours first, then whatever the child was given.
      out[k++] = str;
      str = AppendStr(str, str_end, "LD_PRELOAD=");
      str = AppendStr(str, str_end, self);
      if (old_preload != nullptr && old_preload[0] != '\0') {
        str = AppendStr(str, str_end, ":");
        str = AppendStr(str, str_end, old_preload);
      }
      *str++ = '\0';
    }
    if (!has_dir) {
      out[k++] = str;
      str = AppendStr(str, str_end, "ATR_SPOOL_DIR=");
      str = AppendStr(str, str_end, SpoolDir());
      *str++ = '\0';
      for (int i = 0; i < saved_count; ++i) {
        if (has_saved[i] || SavedEnv(i)[0] == '\0') continue;
        out[k++] = str;
        str = AppendStr(str, str_end, SavedEnv(i));
        *str++ = '\0';
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!preload_ok && HasPrefix(envp[i], "LD_PRELOAD=", 11)) continue;
      out[k++] = envp[i];
    }
    out[k] = nullptr;
    envp_ = out;
  }
  ~ChildEnvironment() {
    if (map_ != nullptr) UnmapRaw(map_, bytes_);
  }
  char** get() const { return envp_; }

 private:
  char** envp_;
  void* map_ = nullptr;
  size_t bytes_ = 0;
};

// setuid/setgid images drop LD_PRELOAD: say so instead of going silent.
bool IsSetugid(const struct stat& st) {
  return (st.st_mode & (S_ISUID | S_ISGID)) != 0 && getuid() != 0;
}
bool PathIsSetugid(const char* path) {
  struct stat st;
  return path != nullptr && stat(path, &st) == 0 && IsSetugid(st);
}

// Records the exec and writes every buffer out: the old image's memory is
// gone once the exec succeeds.
void BeforeExec(bool untraced) {
  HookScope s;
  if (!s.recording()) return;
  s.Record(untraced ? Op::kUntracedExec : Op::kExec, 0, 0, 0);
  FlushOwn(s);
  FlushAllRegions(/*from_signal=*/false);
}

int AfterFailedExec(int rc) {
  int err = errno;
  HookScope s;
  if (s.active()) s.Record(Op::kExec, 0, 0, static_cast<uint64_t>(err));
  errno = err;
  return rc;
}

// execl-style argument lists to an argv array on the stack.
#define ATR_COLLECT_ARGS(arg0, argv_out, envp_out, with_env)        \
  do {                                                              \
    va_list ap;                                                     \
    va_start(ap, arg0);                                             \
    size_t count = 1;                                               \
    {                                                               \
      va_list ap2;                                                  \
      va_copy(ap2, ap);                                             \
      while (va_arg(ap2, const char*) != nullptr) ++count;          \
      va_end(ap2);                                                  \
    }                                                               \
    argv_out = static_cast<char**>(alloca((count + 1) * sizeof(char*))); \
    argv_out[0] = const_cast<char*>(arg0);                          \
    for (size_t i = 1; i <= count; ++i) argv_out[i] = va_arg(ap, char*); \
    if (with_env) envp_out = va_arg(ap, char**);                    \
    va_end(ap);                                                     \
  } while (0)

// ---- threads

struct ThreadStart {
  void* (*fn)(void*);
  void* arg;
  uint32_t creator_tid;
};

void* ThreadTrampoline(void* p) {
  ThreadStart start = *static_cast<ThreadStart*>(p);
  OwnFree(p);
  tls.creator_tid = start.creator_tid;
  {
    HookScope s;
    if (s.recording()) s.Record(Op::kThreadStart, 0, 0, start.creator_tid);
  }
  void* ret = start.fn(start.arg);
  FinishThread(/*final=*/false);
  return ret;
}

void RecordThreadName() {
  HookScope s;
  if (s.recording()) EmitThreadRecord(s);
}

[[noreturn]] void ExitNow(int status) {
  {
    HookScope s;
    if (s.recording()) {
      s.Record(Op::kProcessExit, 0, 0, static_cast<uint32_t>(status));
      FlushOwn(s);
      FlushAllRegions(/*from_signal=*/false);
    }
  }
  for (;;) syscall(SYS_exit_group, status);
}

}  // namespace
}  // namespace atr::preload

using namespace atr::preload;  // NOLINT: the hooks below are C symbols

ATR_EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                              void* (*fn)(void*), void* arg) noexcept {
  auto real = ATR_NEXT_RESOLVED(pthread_create);
  EnsureInitialized();
  if (!IsRecording()) return real(thread, attr, fn, arg);
  auto* start = static_cast<ThreadStart*>(OwnMalloc(sizeof(ThreadStart)));
  if (start == nullptr) return real(thread, attr, fn, arg);
  start->fn = fn;
  start->arg = arg;
  start->creator_tid = tls.region != nullptr ? tls.region->tid : Gettid();
  int rc = real(thread, attr, &ThreadTrampoline, start);
  if (rc != 0) OwnFree(start);
  return rc;
}

ATR_EXPORT int pthread_setname_np(pthread_t thread, const char* name) noexcept {
  int rc = ATR_NEXT_RESOLVED(pthread_setname_np)(thread, name);
  if (rc == 0 && pthread_equal(thread, pthread_self())) RecordThreadName();
  return rc;
}

ATR_EXPORT int prctl(int option, ...) noexcept {
  va_list ap;
  va_start(ap, option);
  unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long),
                a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
  va_end(ap);
  int rc = ATR_NEXT_RESOLVED(prctl)(option, a2, a3, a4, a5);
  if (rc == 0 && option == PR_SET_NAME && tls.internal == 0) RecordThreadName();
  return rc;
}

ATR_EXPORT pid_t fork(void) noexcept {
  auto real = ATR_NEXT_RESOLVED(fork);
  EventStamp st = {};
  bool recorded = false;
  {
    HookScope s;
    if (s.recording()) {
      st = s.Stamp();  // the child's events all come after the fork
      FlushOwn(s);
      recorded = true;
    }
  }
  pid_t pid = real();
  if (pid == 0) {
    OnForkedChild();
    HookScope s;  // sends the child's ThreadRecord
    return 0;
  }
  if (recorded) {
    HookScope s;
    if (s.recording()) s.Emit(Op::kFork, st, 0, 0, pid > 0 ? pid : 0, s.Stack(false));
  }
  return pid;
}

// vfork is a fork here: a vfork child shares the parent's memory and TLS,
// and recording from it would corrupt the parent's buffers.
ATR_EXPORT pid_t vfork(void) noexcept { return fork(); }

ATR_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) noexcept {
  auto real = ATR_NEXT_RESOLVED(execve);
  if (!IsRecording()) return real(path, argv, envp);
  BeforeExec(PathIsSetugid(path));
  ChildEnvironment env(envp);
  return AfterFailedExec(real(path, argv, env.get()));
}

ATR_EXPORT int execv(const char* path, char* const argv[]) noexcept {
  return execve(path, argv, environ);
}

ATR_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
  auto real = ATR_NEXT_RESOLVED(execvpe);
  if (!IsRecording()) return real(file, argv, envp);
  BeforeExec(strchr(file, '/') != nullptr && PathIsSetugid(file));
  ChildEnvironment env(envp);
  return AfterFailedExec(real(file, argv, env.get()));
}

ATR_EXPORT int execvp(const char* file, char* const argv[]) noexcept {
  return execvpe(file, argv, environ);
}

ATR_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) noexcept {
  auto real = ATR_NEXT_RESOLVED(fexecve);
  if (!IsRecording()) return real(fd, argv, envp);
  struct stat st;
  BeforeExec(fstat(fd, &st) == 0 && IsSetugid(st));
  ChildEnvironment env(envp);
  return AfterFailedExec(real(fd, argv, env.get()));
}

ATR_EXPORT int execl(const char* path, const char* arg0, ...) noexcept {
  char** argv;
  char** envp = nullptr;
  ATR_COLLECT_ARGS(arg0, argv, envp, false);
  (void)envp;
  return execve(path, argv, environ);
}

ATR_EXPORT int execlp(const char* file, const char* arg0, ...) noexcept {
  char** argv;
  char** envp = nullptr;
  ATR_COLLECT_ARGS(arg0, argv, envp, false);
  (void)envp;
  return execvpe(file, argv, environ);
}

ATR_EXPORT int execle(const char* path, const char* arg0, ...) noexcept {
  char** argv;
  char** envp = nullptr;
  ATR_COLLECT_ARGS(arg0, argv, envp, true);
  return execve(path, argv, envp);
}

namespace {
template <typename Real>
int Spawn(Real real, pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
          const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  if (!IsRecording()) return real(pid, path, actions, attr, argv, envp);
  EventStamp st = {};
  {
    HookScope s;
    if (s.recording()) st = s.Stamp();
  }
  ChildEnvironment env(envp);
  pid_t child = 0;
  int rc = real(&child, path, actions, attr, argv, env.get());
  if (pid != nullptr && rc == 0) *pid = child;
  HookScope s;
  if (s.recording()) s.Emit(Op::kPosixSpawn, st, 0, 0, rc == 0 ? child : 0, s.Stack(false));
  return rc;
}
}  // namespace

ATR_EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                           const posix_spawnattr_t* attr, char* const argv[],
                           char* const envp[]) noexcept {
  return Spawn(ATR_NEXT_RESOLVED(posix_spawn), pid, path, actions, attr, argv, envp);
}

ATR_EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                            const posix_spawnattr_t* attr, char* const argv[],
                            char* const envp[]) noexcept {
  return Spawn(ATR_NEXT_RESOLVED(posix_spawnp), pid, file, actions, attr, argv, envp);
}

ATR_EXPORT int system(const char* command) {
  int rc = ATR_NEXT_RESOLVED(system)(command);
  HookScope s;
  if (s.active()) s.Record(Op::kSystem, 0, 0, static_cast<uint32_t>(rc));
  return rc;
}

ATR_EXPORT void* dlopen(const char* file, int mode) noexcept {
  // RTLD_DEEPBIND would let the library bind malloc & co. past the hooks.
  mode &= ~RTLD_DEEPBIND;
  void* handle = ATR_NEXT_RESOLVED(dlopen)(file, mode);
  HookScope s;
  if (s.recording()) {
    SyncModules(/*force_all=*/false);
    s.Record(Op::kDlopen, reinterpret_cast<uintptr_t>(handle), 0, static_cast<uint32_t>(mode));
  }
  return handle;
}

ATR_EXPORT int dlclose(void* handle) noexcept {
  {
    // Stacks this thread captured inside the module reach the spool before
    // the module's unload record.
    HookScope s;
    if (s.recording()) FlushOwn(s);
  }
  int rc = ATR_NEXT_RESOLVED(dlclose)(handle);
  HookScope s;
  if (s.recording()) {
    SyncModules(/*force_all=*/false);
    s.Record(Op::kDlclose, reinterpret_cast<uintptr_t>(handle), 0, static_cast<uint32_t>(rc));
  }
  return rc;
}

ATR_EXPORT void _exit(int status) { ExitNow(status); }
ATR_EXPORT void _Exit(int status) { ExitNow(status); }
