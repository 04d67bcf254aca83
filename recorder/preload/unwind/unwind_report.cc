// Counters and stderr lines of the table unwinder (see unwind_report.h).
#include "recorder/preload/unwind/unwind_report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>

#include "recorder/preload/preload.h"

namespace atr::preload {

UnwindReportFlags g_unwind_report = {false, false};

namespace {

constexpr uint32_t kMaxMismatchLines = 8;

std::atomic<uint64_t> g_table{0}, g_compared{0}, g_mismatches{0}, g_id_mismatches{0};
std::atomic<uint64_t> g_memo_copied{0}, g_memo_stepped{0};
std::atomic<uint64_t> g_fallbacks[unwind::kWalkStatusCount];

bool EnvIsOne(const char* name) {
  const char* v = getenv(name);  // no allocation; called under InternalScope
  return v != nullptr && strcmp(v, "1") == 0;
}

char* AppendPcs(char* p, const char* end, const uint64_t* pcs, uint32_t depth) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint32_t i = 0; i < depth && end - p > 20; ++i) {
    if (i != 0) *p++ = ',';
    *p++ = '0';
    *p++ = 'x';
    int shift = 60;
    while (shift > 0 && ((pcs[i] >> shift) & 0xf) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) *p++ = kHex[(pcs[i] >> shift) & 0xf];
  }
  return p;
}

void WriteLine(char* begin, char* p) {
  *p++ = '\n';
  ssize_t unused = write(2, begin, static_cast<size_t>(p - begin));
  (void)unused;
}

char* AppendCounter(char* p, const char* end, const char* name, uint64_t v) {
  p = AppendStr(p, end, " ");
  p = AppendStr(p, end, name);
  p = AppendStr(p, end, "=");
  return AppendUint(p, end, v);
}

__attribute__((destructor)) void ReportAtExit() {
  if (!g_unwind_report.stats || g.unwinder != Unwinder::kTable) return;
  char line[512];
  const char* end = line + sizeof(line) - 2;
  char* p = AppendStr(line, end, "atr-unwind:");
  p = AppendCounter(p, end, "pid", g.pid);
  p = AppendCounter(p, end, "table", g_table.load());
  uint64_t total = 0;
  for (auto& f : g_fallbacks) total += f.load();
  p = AppendCounter(p, end, "fallback", total);
  const char* names[unwind::kWalkStatusCount] = {"", "no_module", "no_fde", "unsupported",
                                                 "outside_stack"};
  for (uint32_t i = 1; i < unwind::kWalkStatusCount; ++i) {
    p = AppendCounter(p, end, names[i], g_fallbacks[i].load());
  }
  p = AppendCounter(p, end, "compared", g_compared.load());
  p = AppendCounter(p, end, "mismatches", g_mismatches.load());
  p = AppendCounter(p, end, "id_mismatches", g_id_mismatches.load());
  p = AppendCounter(p, end, "memo_copied", g_memo_copied.load());
  p = AppendCounter(p, end, "memo_stepped", g_memo_stepped.load());
  WriteLine(line, p);
}

}  // namespace

void ReadUnwindReportFlags() {
  g_unwind_report.crosscheck = EnvIsOne(kEnvUnwindCrosscheck);
  g_unwind_report.stats = g_unwind_report.crosscheck || EnvIsOne(kEnvUnwindStats);
}

void CountTableEvent(uint64_t frames_copied, uint64_t frames_stepped) {
  g_table.fetch_add(1, std::memory_order_relaxed);
  g_memo_copied.fetch_add(frames_copied, std::memory_order_relaxed);
  g_memo_stepped.fetch_add(frames_stepped, std::memory_order_relaxed);
}

void CountFallback(unwind::WalkStatus why) {
  g_fallbacks[static_cast<uint32_t>(why)].fetch_add(1, std::memory_order_relaxed);
}

void CompareStackIds(uint64_t id, uint64_t reference) {
  if (id != reference) g_id_mismatches.fetch_add(1, std::memory_order_relaxed);
}

void CompareStacks(const uint64_t* table, uint32_t table_depth, const uint64_t* reference,
                   uint32_t reference_depth) {
  g_compared.fetch_add(1, std::memory_order_relaxed);
  if (table_depth == reference_depth &&
      memcmp(table, reference, table_depth * sizeof(uint64_t)) == 0) {
    return;
  }
  if (g_mismatches.fetch_add(1, std::memory_order_relaxed) >= kMaxMismatchLines) return;
  char line[4096];
  const char* end = line + sizeof(line) - 2;
  char* p = AppendStr(line, end, "atr-unwind-mismatch:");
  p = AppendCounter(p, end, "pid", g.pid);
  p = AppendStr(p, end, " table=");
  p = AppendPcs(p, end - 1024, table, table_depth);
  p = AppendStr(p, end, " libunwind=");
  p = AppendPcs(p, end, reference, reference_depth);
  WriteLine(line, p);
}

}  // namespace atr::preload
