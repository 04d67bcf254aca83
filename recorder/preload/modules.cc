// Module tracking: ModuleRecords for every loaded object at start, and for
// objects added or removed since (dlopen/dlclose, or loads libc does on its
// own, noticed before the next chunk is written).
//
// Locking: the table is only changed inside a dl_iterate_phdr callback,
// i.e. while glibc's loader lock is held, and under module_lock taken there.
// Lock order is therefore always loader lock -> module_lock; a thread that
// holds module_lock never waits for the loader lock.
#include <link.h>
#include <sched.h>
#include <string.h>

#include "recorder/preload/preload.h"

namespace atr::preload {
namespace {

constexpr uint32_t kMaxModules = 2048;
constexpr uint32_t kPathArenaBytes = 512 * 1024;

struct ModuleEntry {
  uint64_t bias, lo, hi;
  uint32_t path_off, path_len;
  uint32_t seen_gen;
  uint32_t alive;
};

ModuleEntry g_modules[kMaxModules];
uint32_t g_module_count;
char g_paths[kPathArenaBytes];
uint32_t g_paths_used;
unsigned long long g_adds, g_subs;
bool g_synced;
uint32_t g_gen;
std::atomic<uint32_t> g_module_lock{0};
alignas(8) uint8_t g_chunk[kHeaderReserve + 64 * 1024];
uint32_t g_chunk_used;  // bytes of records after the reserve

struct ScanContext {
  bool force_all;
  bool locked;
  bool scanned;
  bool first;
};

void FlushModuleChunk() {
  if (g_chunk_used == 0) return;
  WriteDirectChunk(g_chunk + kHeaderReserve, g_chunk_used,
                   tls.region != nullptr ? tls.region->tid : Gettid());
  g_chunk_used = 0;
}

void EmitModule(const ModuleEntry& m, uint32_t flags) {
  uint32_t bytes = spool::RoundUp8(static_cast<uint32_t>(sizeof(spool::ModuleRecord)) +
                                   m.path_len + 1);
  if (g_chunk_used + bytes > sizeof(g_chunk) - kHeaderReserve) FlushModuleChunk();
  uint8_t* p = g_chunk + kHeaderReserve + g_chunk_used;
  memset(p, 0, bytes);
  auto* mr = reinterpret_cast<spool::ModuleRecord*>(p);
  mr->h = {spool::RecordType::kModule, 0, static_cast<uint16_t>(bytes)};
  mr->flags = flags;
  mr->seq = g.control->next_seq.load(std::memory_order_relaxed);
  mr->bias = m.bias;
  mr->lo = m.lo;
  mr->hi = m.hi;
  memcpy(p + sizeof(spool::ModuleRecord), g_paths + m.path_off, m.path_len);
  g_chunk_used += bytes;
}

int OnObject(struct dl_phdr_info* info, size_t size, void* data) {
  auto* c = static_cast<ScanContext*>(data);
  if (!c->locked) {
    uint32_t expected = 0;
    while (!g_module_lock.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
      expected = 0;
      sched_yield();
    }
    c->locked = true;
    bool have_counters = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs);
    if (!c->force_all && g_synced && have_counters && info->dlpi_adds == g_adds &&
        info->dlpi_subs == g_subs) {
      return 1;  // nothing changed: stop iterating
    }
    if (have_counters) {
      g_adds = info->dlpi_adds;
      g_subs = info->dlpi_subs;
    }
    g_synced = true;
    c->scanned = true;
    ++g_gen;
  }
  bool first = c->first;
  c->first = false;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uint64_t a = info->dlpi_addr + ph.p_vaddr;
    if (a < lo) lo = a;
    if (a + ph.p_memsz > hi) hi = a + ph.p_memsz;
  }
  if (hi == 0) return 0;
  for (uint32_t i = 0; i < g_module_count; ++i) {
    ModuleEntry& m = g_modules[i];
    if (m.alive && m.bias == info->dlpi_addr && m.lo == lo && m.hi == hi) {
      m.seen_gen = g_gen;
      return 0;
    }
  }
  const char* name = info->dlpi_name;
  if (name == nullptr || name[0] == '\0') name = first ? ExePath() : "[unnamed]";
  uint32_t len = static_cast<uint32_t>(StrLen(name));
  if (len > 4095) len = 4095;
  if (g_module_count == kMaxModules || g_paths_used + len > kPathArenaBytes) {
    // Table full: compact away unloaded entries once, else give up quietly
    // (the collector still has every earlier record).
    uint32_t w = 0;
    for (uint32_t i = 0; i < g_module_count; ++i) {
      if (g_modules[i].alive) g_modules[w++] = g_modules[i];
    }
    g_module_count = w;
    if (g_module_count == kMaxModules || g_paths_used + len > kPathArenaBytes) return 0;
  }
  ModuleEntry& m = g_modules[g_module_count++];
  m.bias = info->dlpi_addr;
  m.lo = lo;
  m.hi = hi;
  m.path_off = g_paths_used;
  m.path_len = len;
  memcpy(g_paths + g_paths_used, name, len);
  g_paths_used += len;
  m.seen_gen = g_gen;
  m.alive = 1;
  NoteModuleLoaded(info, lo, hi);
  EmitModule(m, spool::ModuleRecord::kLoaded);
  return 0;
}

}  // namespace

void SyncModules(bool force_all) {
  if (g.control == nullptr) return;
  ScanContext c = {force_all, false, false, true};
  dl_iterate_phdr(&OnObject, &c);
  if (!c.locked) return;
  if (c.scanned) {
    for (uint32_t i = 0; i < g_module_count; ++i) {
      ModuleEntry& m = g_modules[i];
      if (m.alive && m.seen_gen != g_gen) {
        m.alive = 0;
        NoteModuleUnloaded(m.lo, m.hi);
        EmitModule(m, spool::ModuleRecord::kUnloaded);
      }
    }
  }
  FlushModuleChunk();
  g_module_lock.store(0, std::memory_order_release);
}

void ResetModulesAfterFork() {
  g_module_lock.store(0, std::memory_order_relaxed);
  g_module_count = 0;
  g_paths_used = 0;
  g_synced = false;
  g_chunk_used = 0;
}

}  // namespace atr::preload
