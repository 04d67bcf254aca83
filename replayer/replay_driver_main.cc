// atr-replay-driver: performs the calls of an op stream (replayer/op_stream.h)
// with whatever malloc the process was started with (atr sets LD_PRELOAD),
// and reports resident memory and the allocator's own statistics at the
// stream's sample points. Started by `atr replay --allocator X`; not meant
// to be run by hand.
//
//   atr-replay-driver OPS_FILE [--threads real]
//
// Output on stdout, one line each, printed after the run so printing does
// not disturb the heap being measured:
//   stats <glibc|jemalloc|tcmalloc|mimalloc|none>
//   sample <seq> <kind> <live_objects> <live_bytes> <resident> <allocated>
//          <free_slot> <cached> <retained> <released> <mapped>   (-1 = unknown)
//   done <ns executing the ops> <records>
// Exit 0, or 1 with "error <message>" on stdout.
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "replayer/op_stream.h"

namespace {

using atr::replay::ops::Header;
using atr::replay::ops::Record;
namespace ops = atr::replay::ops;

[[noreturn]] void Die(const char* what) {
  std::printf("error %s: %s\n", what, std::strerror(errno));
  std::fflush(stdout);
  std::_Exit(1);
}

// --- allocator statistics ----------------------------------------------------

using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);
using TcPropFn = int (*)(const char*, size_t*);
using MiInfoFn = void (*)(size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*);
using Mallinfo2Fn = struct mallinfo2 (*)();

struct Stats {
  int64_t allocated = -1, free_slot = -1, cached = -1, retained = -1, released = -1, mapped = -1;
};

struct StatsSource {
  const char* name = "none";
  MallctlFn mallctl = nullptr;
  TcPropFn tc = nullptr;
  MiInfoFn mi = nullptr;
  Mallinfo2Fn mallinfo2 = nullptr;

  void Init() {
    if ((mallctl = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl")))) {
      name = "jemalloc";
    } else if ((tc = reinterpret_cast<TcPropFn>(
                    dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty")))) {
      name = "tcmalloc";
    } else if ((mi = reinterpret_cast<MiInfoFn>(dlsym(RTLD_DEFAULT, "mi_process_info")))) {
      name = "mimalloc";
    } else if ((mallinfo2 = reinterpret_cast<Mallinfo2Fn>(dlsym(RTLD_DEFAULT, "mallinfo2")))) {
      name = "glibc";
    }
  }

  int64_t Je(const char* key) {
    size_t v = 0, len = sizeof v;
    return mallctl(key, &v, &len, nullptr, 0) == 0 ? static_cast<int64_t>(v) : -1;
  }
  int64_t Tc(const char* key) {
    size_t v = 0;
    return tc(key, &v) ? static_cast<int64_t>(v) : -1;
  }

  Stats Read() {
    Stats s;
    if (mallctl) {
      uint64_t epoch = 1;
      size_t len = sizeof epoch;
      mallctl("epoch", &epoch, &len, &epoch, len);
      s.allocated = Je("stats.allocated");
      int64_t active = Je("stats.active");
      if (active >= 0 && s.allocated >= 0) s.free_slot = active - s.allocated;
      s.mapped = Je("stats.mapped");
      s.retained = Je("stats.retained");
    } else if (tc) {
      s.allocated = Tc("generic.current_allocated_bytes");
      s.mapped = Tc("generic.heap_size");
      s.retained = Tc("tcmalloc.pageheap_free_bytes");
      s.released = Tc("tcmalloc.pageheap_unmapped_bytes");
      int64_t a = Tc("tcmalloc.thread_cache_free_bytes"), b = Tc("tcmalloc.central_cache_free_bytes"),
              c = Tc("tcmalloc.transfer_cache_free_bytes");
      if (a >= 0 && b >= 0 && c >= 0) s.cached = a + b + c;
    } else if (mi) {
      size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
      mi(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
      s.mapped = static_cast<int64_t>(commit);
    } else if (mallinfo2) {
      struct mallinfo2 m = mallinfo2();
      s.allocated = static_cast<int64_t>(m.uordblks + m.hblkhd);
      s.free_slot = static_cast<int64_t>(m.fordblks);
      s.mapped = static_cast<int64_t>(m.arena + m.hblkhd);
    }
    return s;
  }
};

// Anonymous resident bytes (RSS minus file-backed and shared pages): the
// op stream is a mapped file and must not count.
int g_statm = -1;
int64_t AnonResident() {
  char buf[256];
  ssize_t n = pread(g_statm, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = 0;
  long long size, resident, shared;
  if (std::sscanf(buf, "%lld %lld %lld", &size, &resident, &shared) != 3) return -1;
  return static_cast<int64_t>(resident - shared) * sysconf(_SC_PAGESIZE);
}

struct SampleOut {
  int64_t seq, kind, live_objects, live_bytes, resident;
  Stats st;
};

// --- execution ---------------------------------------------------------------

struct Run {
  const Record* recs = nullptr;
  uint64_t n = 0;
  void** slots = nullptr;
  SampleOut* samples = nullptr;
  std::atomic<uint64_t> sample_count{0};
  int64_t baseline = 0;
  StatsSource stats;
  uint32_t reserved_slot_from = 0;
};

inline void Touch(void* p, uint64_t size) {
  // Programs write what they allocate: one store per page makes it resident.
  auto* c = static_cast<volatile char*>(p);
  for (uint64_t off = 0; off < size; off += 4096) c[off] = 1;
  if (size > 0) c[size - 1] = 1;
}

// Executes record i; returns the number of records consumed.
inline uint64_t Execute(Run& r, uint64_t i) {
  const Record& rec = r.recs[i];
  void** slots = r.slots;
  switch (rec.kind) {
    case ops::kMalloc: {
      void* p = std::malloc(rec.size);
      if (p) Touch(p, rec.size);
      slots[rec.slot] = p;
      return 1;
    }
    case ops::kCalloc: {
      void* p = std::calloc(1, rec.size);
      if (p) Touch(p, rec.size);
      slots[rec.slot] = p;
      return 1;
    }
    case ops::kAligned: {
      void* p = nullptr;
      if (posix_memalign(&p, size_t{1} << rec.align_log2, rec.size) != 0) p = nullptr;
      if (p) Touch(p, rec.size);
      slots[rec.slot] = p;
      return 1;
    }
    case ops::kReallocFrom: {
      const Record& next = r.recs[i + 1];
      void* p = std::realloc(slots[rec.slot], next.size);
      slots[rec.slot] = nullptr;
      if (p) Touch(p, next.size);
      slots[next.slot] = p;
      return 2;
    }
    case ops::kRealloc: {  // realloc without a kReallocFrom: realloc(NULL, n)
      void* p = std::realloc(nullptr, rec.size);
      if (p) Touch(p, rec.size);
      slots[rec.slot] = p;
      return 1;
    }
    case ops::kFree:
      std::free(slots[rec.slot]);
      slots[rec.slot] = nullptr;
      return 1;
    case ops::kSample: {
      SampleOut& s = r.samples[r.sample_count.fetch_add(1, std::memory_order_relaxed)];
      s.seq = static_cast<int64_t>(rec.size);
      s.kind = rec.slot;
      s.live_bytes = static_cast<int64_t>(r.recs[i + 1].size);
      s.live_objects = static_cast<int64_t>(r.recs[i + 2].size);
      int64_t res = AnonResident();
      s.resident = res < 0 ? -1 : std::max<int64_t>(0, res - r.baseline);
      s.st = r.stats.Read();
      return 3;
    }
    default:
      return 1;
  }
}

// The records of one operation start at i and span Execute's return value;
// in --threads real the token passes between threads at operation bounds.
uint64_t OpLength(const Record* recs, uint64_t i) {
  switch (recs[i].kind) {
    case ops::kReallocFrom: return 2;
    case ops::kSample: return 3;
    default: return 1;
  }
}

void RunSingle(Run& r) {
  for (uint64_t i = 0; i < r.n;) i += Execute(r, i);
}

// One real thread per recorded thread; a token passed from thread to thread
// keeps the global trace order, so each thread runs its own calls, in order.
void RunThreaded(Run& r, uint32_t threads) {
  std::vector<std::vector<uint64_t>> mine(threads);
  for (uint64_t i = 0; i < r.n; i += OpLength(r.recs, i)) {
    mine[r.recs[i].thread % threads].push_back(i);
  }
  std::vector<std::atomic<uint32_t>> gate(threads);
  for (auto& g : gate) g.store(0);
  if (r.n > 0) gate[r.recs[0].thread % threads].store(1);
  auto body = [&](uint32_t me) {
    for (uint64_t i : mine[me]) {
      int spins = 0;
      while (gate[me].load(std::memory_order_acquire) == 0) {
        if (++spins < 200) continue;
        gate[me].wait(0, std::memory_order_acquire);
      }
      gate[me].store(0, std::memory_order_relaxed);
      uint64_t next = i + Execute(r, i);
      if (next < r.n) {
        uint32_t owner = r.recs[next].thread % threads;
        gate[owner].store(1, std::memory_order_release);
        if (owner != me) gate[owner].notify_one();
      }
    }
  };
  std::vector<std::thread> pool;
  for (uint32_t t = 0; t < threads; ++t) {
    if (!mine[t].empty()) pool.emplace_back(body, t);
  }
  for (std::thread& t : pool) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::printf("error usage: atr-replay-driver OPS_FILE [--threads real]\n");
    return 1;
  }
  bool threaded = argc >= 4 && std::strcmp(argv[2], "--threads") == 0 &&
                  std::strcmp(argv[3], "real") == 0;
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("opening the op stream");
  struct stat st {};
  if (fstat(fd, &st) != 0) Die("reading the op stream");
  if (static_cast<size_t>(st.st_size) < sizeof(Header)) {
    std::printf("error the op stream is truncated\n");
    return 1;
  }
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) Die("mapping the op stream");
  const Header* h = static_cast<const Header*>(map);
  if (std::memcmp(h->magic, ops::kMagic, sizeof ops::kMagic) != 0 ||
      sizeof(Header) + h->records * sizeof(Record) > static_cast<uint64_t>(st.st_size)) {
    std::printf("error not an atr op stream, or truncated\n");
    return 1;
  }
  madvise(map, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
  Run r;
  r.recs = reinterpret_cast<const Record*>(static_cast<const char*>(map) + sizeof(Header));
  r.n = h->records;
  uint64_t samples = 0;
  for (uint64_t i = 0; i < r.n; ++i) samples += r.recs[i].kind == ops::kSample;
  // The driver's own tables are mmap'd and touched before the baseline, so
  // they are not counted as the allocator's memory (and do not use it).
  size_t slot_bytes = (size_t{h->slots} + 1) * sizeof(void*);
  size_t sample_bytes = (samples + 1) * sizeof(SampleOut);
  r.slots = static_cast<void**>(mmap(nullptr, slot_bytes, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  r.samples = static_cast<SampleOut*>(mmap(nullptr, sample_bytes, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  if (r.slots == MAP_FAILED || r.samples == MAP_FAILED) Die("allocating the slot table");
  g_statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  r.stats.Init();
  (void)r.stats.Read();  // first call may allocate (dlsym, stats init)
  if (threaded) {
    // Thread stacks are anonymous memory too: create them outside the
    // measured heap as far as possible by warming one thread first.
    std::thread([] {}).join();
  }
  r.baseline = AnonResident();

  auto t0 = std::chrono::steady_clock::now();
  if (threaded) {
    RunThreaded(r, std::max<uint32_t>(1, h->threads));
  } else {
    RunSingle(r);
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();

  std::printf("stats %s\n", r.stats.name);
  for (uint64_t i = 0; i < r.sample_count.load(); ++i) {
    const SampleOut& s = r.samples[i];
    std::printf("sample %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld\n",
                (long long)s.seq, (long long)s.kind, (long long)s.live_objects,
                (long long)s.live_bytes, (long long)s.resident, (long long)s.st.allocated,
                (long long)s.st.free_slot, (long long)s.st.cached, (long long)s.st.retained,
                (long long)s.st.released, (long long)s.st.mapped);
  }
  std::printf("done %lld %llu\n", (long long)ns, (unsigned long long)r.n);
  std::fflush(stdout);
  // Skip destructors and the allocator's exit work: nothing left to measure.
  std::_Exit(0);
}
