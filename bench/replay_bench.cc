// Replay benchmark (results in docs/benchmarks.md, "Replay").
//
// Writes a synthetic trace (ATR_BENCH_EVENTS events, default 10 M; 8
// threads, ~200k live blocks in steady state, sizes log-uniform 8 B-2 KiB
// with 3% up to 64 KiB, 3% reallocs, cross-thread frees, addresses reused
// LIFO as a real malloc would), then measures, in the same run:
//   1. a bare ordered scan of the events (EventCursor, every column);
//   2. the built-in replay end to end from the file (with and without the
//      span snapshot), and its ratio to the scan;
//   3. the real-allocator replay (system malloc, single thread): time of the
//      calls in the driver vs the same calls made directly in this process
//      from memory (no trace, no sampling, no page touching) -- "raw".
//
//   cmake --build build --target replay_bench && build/bench/replay_bench
//   ATR_BENCH_EVENTS=1000000 ATR_BENCH_DIR=/tmp build/bench/replay_bench
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "db/trace_reader.h"
#include "db/trace_writer.h"
#include "replayer/builtin_replay.h"
#include "replayer/real_replay.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct RawOp {
  uint8_t kind;  // 0 malloc, 1 free, 2 realloc
  uint32_t slot;
  uint32_t from;
  uint64_t size;
};

int64_t EnvInt(const char* name, int64_t def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : def;
}

}  // namespace

int main() {
  const int64_t target_events = EnvInt("ATR_BENCH_EVENTS", 10'000'000);
  const char* dir_env = std::getenv("ATR_BENCH_DIR");
  std::string path = std::string(dir_env && *dir_env ? dir_env : "/tmp") + "/atr_replay_bench.db";
  unlink(path.c_str());

  // --- generate -------------------------------------------------------------
  std::vector<RawOp> raw;
  raw.reserve(static_cast<size_t>(target_events));
  {
    auto w = atr::TraceWriter::Create(path, {.overwrite = true});
    if (!w.ok()) {
      std::fprintf(stderr, "%s\n", std::string(w.status().message()).c_str());
      return 1;
    }
    (void)(*w)->PutProcess({.pid = 4242, .started_seq = 1});
    std::mt19937_64 rng(42);
    struct Live {
      uint64_t addr;
      uint64_t size;
      uint32_t slot;
      bool is_new;
    };
    std::vector<Live> live;
    std::vector<std::vector<uint64_t>> free_addrs(64);  // per size bucket, LIFO
    std::vector<uint32_t> free_slots;
    uint32_t next_slot = 0;
    uint64_t next_addr = 0x5555'5560'0000;
    const size_t target_live = 200'000;
    std::vector<atr::EventRow> batch;
    int64_t seq = 0;
    auto add = [&](int32_t tid, atr::Op op, uint64_t addr, uint64_t size, uint64_t arg) {
      atr::EventRow e;
      e.seq = ++seq;
      e.ts_ns = seq * 1000;
      e.pid = 4242;
      e.tid = tid;
      e.op = op;
      e.addr = addr;
      e.size = size;
      e.arg = arg;
      e.stack = 1 + static_cast<int64_t>(rng() % 5000);
      batch.push_back(e);
      if (batch.size() == 4000) {
        (void)(*w)->AddEvents(batch);
        batch.clear();
      }
    };
    auto bucket = [](uint64_t size) { return static_cast<size_t>(64 - __builtin_clzll(size)); };
    auto get_addr = [&](uint64_t size) {
      auto& fl = free_addrs[bucket(size)];
      if (!fl.empty()) {
        uint64_t a = fl.back();
        fl.pop_back();
        return a;
      }
      uint64_t a = next_addr;
      next_addr += (uint64_t{1} << bucket(size)) + 16;
      return a;
    };
    auto get_slot = [&] {
      if (!free_slots.empty()) {
        uint32_t s = free_slots.back();
        free_slots.pop_back();
        return s;
      }
      return next_slot++;
    };
    while (seq < target_events) {
      const int32_t tid = 4242 + static_cast<int32_t>(rng() % 8);
      const uint64_t r = rng() % 1000;
      const bool grow = live.size() < target_live ? r < 600 : r < 480;
      if (live.empty() || grow) {
        double lg = std::uniform_real_distribution<double>(3, r < 30 ? 16 : 11)(rng);
        uint64_t size = static_cast<uint64_t>(std::exp2(lg));
        uint64_t a = get_addr(size);
        uint32_t slot = get_slot();
        const bool is_new = r % 5 == 0;
        add(tid, is_new ? atr::Op::kNew : atr::Op::kMalloc, a, size, 0);
        live.push_back({a, size, slot, is_new});
        raw.push_back({0, slot, 0, size});
      } else if (r < 510 && !live[rng() % live.size()].is_new) {
        size_t k = rng() % live.size();
        while (live[k].is_new) k = rng() % live.size();
        uint64_t size = live[k].size * 2 + 8;
        add(tid, atr::Op::kReallocRelease, live[k].addr, 0, 0);
        free_addrs[bucket(live[k].size)].push_back(live[k].addr);
        uint64_t a = get_addr(size);
        add(tid, atr::Op::kRealloc, a, size, live[k].addr);
        uint32_t slot = get_slot();
        raw.push_back({2, slot, live[k].slot, size});
        free_slots.push_back(live[k].slot);
        live[k] = {a, size, slot, false};
      } else {
        size_t k = rng() % live.size();
        add(tid, live[k].is_new ? atr::Op::kDelete : atr::Op::kFree, live[k].addr, 0, 0);
        free_addrs[bucket(live[k].size)].push_back(live[k].addr);
        raw.push_back({1, live[k].slot, 0, 0});
        free_slots.push_back(live[k].slot);
        live[k] = live.back();
        live.pop_back();
      }
    }
    (void)(*w)->AddEvents(batch);
    auto st = (*w)->Finish();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.status().message()).c_str());
      return 1;
    }
  }
  std::printf("trace: %s, %lld events\n", path.c_str(), static_cast<long long>(target_events));

  auto reader = atr::TraceReader::Open(path);
  if (!reader.ok()) return 1;

  // --- 1. bare ordered scan ---------------------------------------------------
  double scan_s = 0;
  {
    auto t0 = Clock::now();
    auto c = reader->Events();
    atr::EventRow e;
    int64_t n = 0;
    uint64_t sink = 0;
    while (c->Next(&e)) {
      ++n;
      sink += e.addr;
    }
    scan_s = Seconds(t0, Clock::now());
    std::printf("bare ordered scan:           %.3f s  %.2f M events/s  (%lld, %llx)\n", scan_s,
                n / scan_s / 1e6, static_cast<long long>(n), static_cast<unsigned long long>(sink & 0xf));
  }

  // --- 2. built-in replay -------------------------------------------------------
  for (bool spans : {false, true}) {
    atr::replay::BuiltinReplayOptions o;
    o.span_snapshot = spans;
    auto t0 = Clock::now();
    auto run = atr::replay::RunBuiltinReplay(&*reader, o);
    double s = Seconds(t0, Clock::now());
    if (!run.ok()) {
      std::fprintf(stderr, "%s\n", std::string(run.status().message()).c_str());
      return 1;
    }
    std::printf("built-in replay%s: %.3f s  %.2f M events/s  %.2fx the scan  "
                "(peak live %.1f MiB, resident %.1f MiB, %zu samples, %zu spans, problems %lld)\n",
                spans ? " + snapshot  " : " (no spans) ", s, run->summary.events / s / 1e6,
                s / scan_s, run->summary.peak_live_bytes / 1048576.0,
                run->summary.peak_resident_bytes / 1048576.0, run->samples.size(),
                run->spans.size(), static_cast<long long>(run->summary.problems));
  }

  // --- 3. real allocator vs raw calls --------------------------------------------
  {
    atr::replay::RealReplayOptions o;
    o.allocator = "system";
    auto run = atr::replay::RunRealReplay(&*reader, o);
    if (!run.ok()) {
      std::fprintf(stderr, "%s\n", std::string(run.status().message()).c_str());
      return 1;
    }
    uint32_t slots = 0;
    for (const RawOp& op : raw) slots = std::max(slots, op.slot + 1);
    std::vector<void*> table(slots, nullptr);
    auto t0 = Clock::now();
    for (const RawOp& op : raw) {
      switch (op.kind) {
        case 0: table[op.slot] = std::malloc(op.size); break;
        case 1:
          std::free(table[op.slot]);
          table[op.slot] = nullptr;
          break;
        case 2:
          table[op.slot] = std::realloc(table[op.from], op.size);
          table[op.from] = nullptr;
          break;
      }
    }
    double raw_s = Seconds(t0, Clock::now());
    for (void* p : table) std::free(p);
    double calls_s = run->summary.allocator_ns / 1e9;
    std::printf("system malloc, raw calls:    %.3f s  (%zu calls, from memory, no trace)\n", raw_s,
                raw.size());
    std::printf("system malloc, replay calls: %.3f s  %.2fx raw  (driver: touch + samples)\n",
                calls_s, calls_s / raw_s);
    std::printf("system malloc, end to end:   %.3f s  (scan + op stream + child)\n",
                run->summary.duration_ns / 1e9);
  }
  if (!std::getenv("ATR_BENCH_KEEP")) unlink(path.c_str());
  return 0;
}
