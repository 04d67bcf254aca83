// Address-space hooks, forwarded to the next definitions (glibc's, or an
// allocator's that wraps them, as tcmalloc does for its mmap hooks). glibc's
// malloc calls its private __mmap/__sbrk and is not seen here
// (docs/recorder.md). Only while the next functions are being resolved, on
// the resolving thread, mmap/munmap/mremap go straight to the kernel.
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/preload/next_functions.h"
#include "recorder/preload/preload.h"

extern "C" void* __sbrk(intptr_t) noexcept;

using atr::Op;
using atr::preload::EventStamp;
using atr::preload::HookScope;

namespace {

inline uint64_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

uint64_t MapFlagsOf(int flags) {
  uint64_t f = (flags & MAP_ANONYMOUS) ? atr::kMapAnonymous : atr::kMapFileBacked;
  if (flags & MAP_SHARED) f |= atr::kMapShared;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) f |= atr::kMapFixed;
  return f;
}

void* DoMmap(decltype(atr::preload::g_next.mmap) next, void* addr, size_t len, int prot,
             int flags, int fd, off_t off) {
  void* p;
  if (ATR_LIKELY(next != nullptr)) {
    p = next(addr, len, prot, flags, fd, off);
  } else {
    long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    p = r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
  }
  HookScope s;
  if (s.active()) s.Record(Op::kMmap, p == MAP_FAILED ? 0 : Addr(p), len, MapFlagsOf(flags));
  return p;
}

}  // namespace

ATR_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
  return DoMmap(ATR_NEXT_RESOLVED(mmap), addr, len, prot, flags, fd, off);
}

ATR_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
  return DoMmap(ATR_NEXT_RESOLVED(mmap64), addr, len, prot, flags, fd, off);
}

ATR_EXPORT int munmap(void* addr, size_t len) noexcept {
  HookScope s;
  EventStamp st = {};
  if (s.active()) st = s.Stamp();
  auto next = ATR_NEXT_RESOLVED(munmap);
  int r = next != nullptr ? next(addr, len) : static_cast<int>(syscall(SYS_munmap, addr, len));
  int err = r == -1 ? errno : 0;
  if (s.active()) s.Emit(Op::kMunmap, st, Addr(addr), len, static_cast<uint64_t>(err), s.Stack(true));
  return r == -1 ? -1 : 0;
}

ATR_EXPORT void* mremap(void* old, size_t old_len, size_t new_len, int flags, ...) noexcept {
  void* want = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    want = va_arg(ap, void*);
    va_end(ap);
  }
  HookScope s;
  EventStamp release = {};
  if (s.active()) release = s.Stamp();
  auto next = ATR_NEXT_RESOLVED(mremap);
  void* p;
  if (next != nullptr) {
    p = next(old, old_len, new_len, flags, want);
  } else {
    long r = syscall(SYS_mremap, old, old_len, new_len, flags, want);
    p = r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
  }
  if (s.active()) {
    EventStamp acquire = s.Stamp();
    uint64_t stack = s.Stack(false);
    uint64_t f = (flags & MREMAP_FIXED) ? uint64_t{atr::kMapFixed} : 0;
    s.Emit(Op::kMremapRelease, release, Addr(old), old_len, f, stack);
    s.Emit(Op::kMremap, acquire, p == MAP_FAILED ? 0 : Addr(p), new_len, f, stack);
  }
  return p;
}

ATR_EXPORT int brk(void* addr) noexcept {
  auto next = ATR_NEXT_RESOLVED(brk);
  void* old = __sbrk(0);
  int rc = next(addr);
  HookScope s;
  if (s.active()) s.Record(Op::kBrk, Addr(addr), 0, Addr(old));
  return rc;
}

ATR_EXPORT void* sbrk(intptr_t inc) noexcept {
  void* p = ATR_NEXT_RESOLVED(sbrk)(inc);
  HookScope s;
  if (s.active()) {
    s.Record(Op::kSbrk, p == reinterpret_cast<void*>(-1) ? 0 : Addr(p),
             static_cast<uint64_t>(inc), 0);
  }
  return p;
}
