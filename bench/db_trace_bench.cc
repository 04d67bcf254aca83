// Trace format benchmarks: insert rate, ordered scan rate and bytes/event of
// a finished trace, for ~5M synthetic events with realistic values (one
// process, 8 threads, glibc-like heap addresses, log-distributed sizes,
// Pareto-distributed stacks, 49% frees, some reallocs).
//
//   build-db/bench/db_trace_bench --benchmark_counters_tabular=true
//   ATR_BENCH_EVENTS=1000000 build-db/bench/db_trace_bench   # smaller run
//
// The benchmarks share one file (ATR_BENCH_DIR, default /tmp): the write
// benchmark creates it, the others read it. Results: docs/trace-format.md.
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

#include "benchmark/benchmark.h"
#include "db/trace_reader.h"
#include "db/trace_writer.h"

namespace atr {
namespace {

int64_t EventCount() {
  const char* n = std::getenv("ATR_BENCH_EVENTS");
  return n != nullptr ? std::atoll(n) : 5'000'000;
}

std::string TracePath() {
  const char* d = std::getenv("ATR_BENCH_DIR");
  return std::string(d != nullptr ? d : "/tmp") + "/atr_db_bench.db";
}

constexpr int kThreads = 8;
constexpr int32_t kPid = 2'345'678;  // pid_max is 4M on current distributions
constexpr int kFrames = 20'000;
constexpr int kStackNodes = 90'000;

// Generates a plausible heap event stream. Not a model of any one program:
// values have the magnitudes (and so the SQLite encodings) of real traces.
class SyntheticHeap {
 public:
  explicit SyntheticHeap(uint64_t seed) : rng_(seed) {
    cursor_[0] = 0x5555'5560'0000ull;  // main arena (brk heap)
    for (int t = 1; t < kThreads; ++t) cursor_[t] = 0x7f00'0000'0000ull + (static_cast<uint64_t>(t) << 36);
  }

  // Appends the next one or two events (realloc makes two).
  void Next(std::vector<EventRow>* out) {
    ts_ += static_cast<int64_t>(exp_(rng_)) + 50;
    int t = static_cast<int>(rng_() % kThreads);
    int32_t tid = kPid + t;
    StackId stack = std::min<int64_t>(kStackNodes, static_cast<int64_t>(10 / std::pow(unit_(rng_), 1.25)));
    uint32_t sp = 600 + static_cast<uint32_t>(rng_() % 8400);
    double u = unit_(rng_);
    if (!live_.empty() && u < 0.49) {
      size_t i = rng_() % live_.size();
      auto [addr, size] = live_[i];
      live_[i] = live_.back();
      live_.pop_back();
      free_lists_[size].push_back(addr);
      out->push_back({.seq = ++seq_, .ts_ns = ts_, .pid = kPid, .tid = tid,
                      .op = rng_() % 10 < 6 ? Op::kFree : Op::kDelete, .addr = addr,
                      .stack = stack, .sp_depth = sp});
      return;
    }
    uint64_t size = unit_(rng_) < 0.97 ? static_cast<uint64_t>(std::exp2(3 + 8 * unit_(rng_)))
                                        : static_cast<uint64_t>(std::exp2(11 + 9 * unit_(rng_)));
    if (rng_() & 1) size = (size + 15) & ~uint64_t{15};
    if (u > 0.97 && !live_.empty()) {
      // realloc of a live block: release half, then the acquisition.
      size_t i = rng_() % live_.size();
      auto [old_addr, old_size] = live_[i];
      live_[i] = live_.back();
      live_.pop_back();
      free_lists_[old_size].push_back(old_addr);
      out->push_back({.seq = ++seq_, .ts_ns = ts_, .pid = kPid, .tid = tid,
                      .op = Op::kReallocRelease, .addr = old_addr, .stack = stack, .sp_depth = sp});
      uint64_t addr = Place(t, size);
      out->push_back({.seq = ++seq_, .ts_ns = ts_ + 80, .pid = kPid, .tid = tid,
                      .op = Op::kRealloc, .addr = addr, .size = size, .arg = old_addr,
                      .stack = stack, .sp_depth = sp});
      return;
    }
    uint64_t addr = Place(t, size);
    out->push_back({.seq = ++seq_, .ts_ns = ts_, .pid = kPid, .tid = tid,
                    .op = rng_() % 10 < 6 ? Op::kMalloc : Op::kNew, .addr = addr, .size = size,
                    .stack = stack, .sp_depth = sp});
  }

 private:
  uint64_t Place(int t, uint64_t size) {
    uint64_t addr;
    auto fl = free_lists_.find(size);
    if (fl != free_lists_.end() && !fl->second.empty()) {
      addr = fl->second.back();
      fl->second.pop_back();
    } else {
      addr = cursor_[t];
      cursor_[t] += (size + 16 + 15) & ~uint64_t{15};
    }
    live_.emplace_back(addr, size);
    return addr;
  }

  std::mt19937_64 rng_;
  std::exponential_distribution<double> exp_{1.0 / 1000.0};
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  int64_t seq_ = 0;
  int64_t ts_ = 0;
  uint64_t cursor_[kThreads];
  std::vector<std::pair<uint64_t, uint64_t>> live_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> free_lists_;
};

void Check(const absl::Status& s, benchmark::State& state) {
  if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
}

// Frames, stack nodes, modules and threads of plausible sizes: they count
// in bytes/event too.
absl::Status WriteSideTables(TraceWriter& w) {
  std::mt19937_64 rng(3);
  for (int t = 0; t < kThreads; ++t) {
    absl::Status s = w.PutThread({.pid = kPid, .tid = kPid + t,
                                  .name = "worker-" + std::to_string(t), .creator_tid = kPid,
                                  .started_seq = 1, .stack_lo = 0x7ffd'0000'0000ull,
                                  .stack_hi = 0x7ffd'0080'0000ull});
    if (!s.ok()) return s;
  }
  absl::Status s = w.PutModule({.id = 1, .pid = kPid, .path = "/usr/bin/server",
                                .build_id = "4f2a9b1c0d3e5f6a7b8c9d0e1f2a3b4c5d6e7f80",
                                .bias = 0x5555'5555'4000, .lo = 0x5555'5555'4000,
                                .hi = 0x5555'5600'0000, .loaded_seq = 0});
  if (!s.ok()) return s;
  for (int f = 1; f <= kFrames; ++f) {
    s = w.PutFrame({.id = f, .module_id = 1, .rel_pc = 0x1000 + uint64_t(rng() % 0xa0'0000),
                    .function = "server::Module" + std::to_string(f % 300) + "::Handle" +
                                std::to_string(f) + "(Request const&)",
                    .file = "src/module" + std::to_string(f % 300) + ".cc",
                    .line = static_cast<int32_t>(rng() % 2000), .column = 7,
                    .frame_size = static_cast<int32_t>(16 * (rng() % 40))});
    if (!s.ok()) return s;
  }
  for (int n = 1; n <= kStackNodes; ++n) {
    StackId parent = n <= 50 ? 0 : 1 + static_cast<StackId>(rng() % (n - 1));
    s = w.AddStackNode({.id = n, .parent = parent, .frame = 1 + int64_t(rng() % kFrames)});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void BM_WriteTrace(benchmark::State& state) {
  const int64_t n = EventCount();
  const std::string path = TracePath();
  for (auto _ : state) {
    auto w = TraceWriter::Create(path, {.overwrite = true});
    if (!w.ok()) {
      state.SkipWithError(std::string(w.status().message()).c_str());
      return;
    }
    Check(WriteSideTables(**w), state);
    SyntheticHeap heap(1);
    std::vector<EventRow> batch;
    batch.reserve(4096);
    int64_t written = 0;
    // Only the writer's time counts towards the insert rate, not the
    // generator's.
    std::chrono::steady_clock::duration insert_time{};
    // Batches of ~4000, like the collector's.
    while (written < n) {
      batch.clear();
      while (batch.size() < 4000) heap.Next(&batch);
      auto t = std::chrono::steady_clock::now();
      absl::Status s = (*w)->AddEvents(batch);
      insert_time += std::chrono::steady_clock::now() - t;
      if (!s.ok()) return Check(s, state);
      written += static_cast<int64_t>(batch.size());
    }
    auto t = std::chrono::steady_clock::now();
    Check((*w)->Flush(), state);
    insert_time += std::chrono::steady_clock::now() - t;
    auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<AllocationStats> stats = (*w)->Finish();
    double finish_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!stats.ok()) return Check(stats.status(), state);
    struct stat st;
    stat(path.c_str(), &st);
    state.counters["events"] = static_cast<double>(written);
    state.counters["insert_ev_per_s"] =
        static_cast<double>(written) / std::chrono::duration<double>(insert_time).count();
    state.counters["finish_s"] = finish_s;
    state.counters["bytes_per_event"] = static_cast<double>(st.st_size) / written;
    state.counters["allocations"] = static_cast<double>(stats->allocations);
    state.counters["leaked"] = static_cast<double>(stats->leaked);
  }
}

void BM_ScanEvents(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<TraceReader> r = TraceReader::Open(TracePath());
    if (!r.ok()) return Check(r.status(), state);
    absl::StatusOr<EventCursor> c = r->Events();
    if (!c.ok()) return Check(c.status(), state);
    EventRow e;
    int64_t rows = 0;
    uint64_t sum = 0;
    while (c->Next(&e)) {
      ++rows;
      sum += e.addr ^ e.size;
    }
    Check(c->status(), state);
    benchmark::DoNotOptimize(sum);
    state.counters["ev_per_s"] =
        benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  }
}

void BM_ScanAllocations(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<TraceReader> r = TraceReader::Open(TracePath());
    if (!r.ok()) return Check(r.status(), state);
    absl::StatusOr<AllocationCursor> c = r->Allocations();
    if (!c.ok()) return Check(c.status(), state);
    AllocationRow a;
    int64_t rows = 0;
    while (c->Next(&a)) ++rows;
    Check(c->status(), state);
    state.counters["rows_per_s"] =
        benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  }
}

// The leaks report as plain SQL through the `allocations` view.
void BM_LeakQuerySql(benchmark::State& state) {
  for (auto _ : state) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(TracePath().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT alloc_stack, count(*), sum(size) FROM allocations "
                                "WHERE free_seq IS NULL GROUP BY alloc_stack "
                                "ORDER BY 3 DESC LIMIT 20",
                                -1, &st, nullptr);
    if (rc != SQLITE_OK) {
      state.SkipWithError(sqlite3_errmsg(db));
      sqlite3_close(db);
      return;
    }
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++rows;
    sqlite3_finalize(st);
    sqlite3_close(db);
    benchmark::DoNotOptimize(rows);
  }
}

BENCHMARK(BM_WriteTrace)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_ScanEvents)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_ScanAllocations)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_LeakQuerySql)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace atr

BENCHMARK_MAIN();
