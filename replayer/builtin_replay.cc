#include "replayer/builtin_replay.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "allocator/heap.h"
#include "db/query.h"
#include "db/sqlite.h"
#include "replayer/replay_engine.h"

namespace atr::replay {
namespace {

constexpr int64_t kPeakCaptureEvery = 16;  // events between two peak captures
constexpr int64_t kMinSnapshotEvery = 4096;

int64_t I(uint64_t v) { return static_cast<int64_t>(v); }

ReplaySample FromStats(int64_t seq, SampleKind kind, const alloc::HeapStats& st) {
  ReplaySample s;
  s.seq = seq;
  s.kind = kind;
  s.live_objects = I(st.live_objects);
  s.live_bytes = I(st.live_requested_bytes);
  s.allocated_bytes = I(st.allocated_bytes);
  s.internal_waste_bytes = I(st.internal_waste_bytes);
  s.free_slot_bytes = I(st.free_slot_bytes);
  s.cached_bytes = I(st.thread_cache_bytes);
  s.retained_bytes = I(st.free_retained_bytes);
  s.released_bytes = I(st.released_bytes);
  s.resident_bytes = I(st.resident_bytes);
  s.mapped_bytes = I(st.mapped_bytes);
  return s;
}

void AddSampleToDigest(const ReplaySample& s, Digest* d) {
  for (int64_t v : {s.seq, static_cast<int64_t>(s.kind), s.live_objects, s.live_bytes,
                    s.allocated_bytes, s.internal_waste_bytes, s.free_slot_bytes, s.cached_bytes,
                    s.retained_bytes, s.released_bytes, s.resident_bytes, s.mapped_bytes}) {
    d->Add(static_cast<uint64_t>(v));
  }
}

std::vector<SpanSnapshot> TakeSnapshot(const alloc::Heap& heap) {
  std::vector<SpanSnapshot> out;
  heap.ForEachSpan([&](const alloc::SpanView& v) {
    if (v.size_class == 0 || v.live_ids.size() >= v.capacity) return;  // large or full
    SpanSnapshot s;
    s.address = v.address;
    s.size_class = v.size_class;
    s.object_size = v.object_size;
    s.pages = v.pages;
    s.capacity = v.capacity;
    s.cached = v.cached;
    s.live_requested_bytes = v.live_requested_bytes;
    s.free_bytes = (v.capacity - v.live_ids.size()) * v.object_size;
    s.allocation_ids.assign(v.live_ids.begin(), v.live_ids.end());
    out.push_back(std::move(s));
  });
  return out;
}

// The model behind the engine, with the sampling and peak bookkeeping.
class ModelBackend : public ReplayBackend {
 public:
  ModelBackend(alloc::Heap* heap, const BuiltinReplayOptions& o, int64_t interval, bool sampling)
      : heap_(heap), options_(o), interval_(interval), sampling_(sampling) {}

  void set_engine(const ReplayEngine* engine) { engine_ = engine; }

  absl::StatusOr<uint64_t> Acquire(const EventRow& e, uint64_t size, uint64_t align) override {
    absl::StatusOr<uint64_t> a = heap_->Allocate(Cache(e.thread), size, align,
                                                 static_cast<alloc::AllocationId>(e.seq));
    if (a.ok()) {
      digest_.Add(static_cast<uint64_t>(e.seq));
      digest_.Add(*a);
      if (options_.on_allocate) options_.on_allocate(e.seq, *a);
    }
    return a;
  }

  absl::Status Release(const EventRow& e, uint64_t handle, int64_t alloc_seq) override {
    digest_.Add(static_cast<uint64_t>(e.seq) ^ handle);
    return heap_->Free(Cache(e.thread), handle);
  }

  void ThreadExit(const EventRow& e) override {
    size_t i = static_cast<size_t>(e.thread);
    if (i < caches_.size() && caches_[i] != kNoCache) (void)heap_->FlushThreadCache(caches_[i]);
  }

  void AfterEvent(const EventRow& e, bool heap_op) override {
    if (!heap_op) heap_->Tick(1);
    ++n_;
    if (!sampling_) return;
    const int64_t live = I(engine_->live_bytes());
    const int64_t res = I(heap_->resident_bytes());
    waste_sum_ += static_cast<double>(res - live);
    if (live > peak_live_) {
      peak_live_ = live;
      peak_live_seq_ = e.seq;
      resident_at_peak_live_ = res;
      if (n_ - last_live_capture_ >= kPeakCaptureEvery || last_live_capture_ == 0) {
        last_live_capture_ = n_;
        pending_live_ = FromStats(e.seq, SampleKind::kPeakLive, heap_->Stats());
        has_pending_live_ = true;
      }
    }
    if (res > peak_res_) {
      peak_res_ = res;
      peak_res_seq_ = e.seq;
      live_at_peak_res_ = live;
      if (n_ - last_res_capture_ >= kPeakCaptureEvery || last_res_capture_ == 0) {
        last_res_capture_ = n_;
        pending_res_ = FromStats(e.seq, SampleKind::kPeakResident, heap_->Stats());
        has_pending_res_ = true;
      }
      if (options_.span_snapshot &&
          (snapshot_seq_ == 0 ||
           n_ - last_snapshot_ >= std::max<int64_t>(kMinSnapshotEvery,
                                                    I(engine_->live_objects()) / 4))) {
        last_snapshot_ = n_;
        snapshot_seq_ = e.seq;
        spans_ = TakeSnapshot(*heap_);
      }
    }
    if (n_ % interval_ == 0) {
      FlushPeaks();
      Emit(FromStats(e.seq, SampleKind::kInterval, heap_->Stats()));
    }
  }

  void FlushPeaks() {
    ReplaySample* p[2] = {has_pending_live_ ? &pending_live_ : nullptr,
                          has_pending_res_ ? &pending_res_ : nullptr};
    if (p[0] && p[1] && p[1]->seq < p[0]->seq) std::swap(p[0], p[1]);
    for (ReplaySample* s : p) {
      if (s != nullptr) Emit(*s);
    }
    has_pending_live_ = has_pending_res_ = false;
  }

  void Emit(const ReplaySample& s) {
    AddSampleToDigest(s, &digest_);
    samples_.push_back(s);
  }

  alloc::ThreadCacheId Cache(int64_t thread) {
    size_t i = thread < 0 ? 0 : static_cast<size_t>(thread);
    if (i >= caches_.size()) caches_.resize(i + 1, kNoCache);
    if (caches_[i] == kNoCache) caches_[i] = heap_->CreateThreadCache();
    return caches_[i];
  }

  static constexpr alloc::ThreadCacheId kNoCache = ~alloc::ThreadCacheId{0};

  alloc::Heap* heap_;
  const BuiltinReplayOptions& options_;
  const ReplayEngine* engine_ = nullptr;
  const int64_t interval_;
  const bool sampling_;
  std::vector<alloc::ThreadCacheId> caches_;  // indexed by threads.id
  Digest digest_;
  int64_t n_ = 0;
  double waste_sum_ = 0;
  int64_t peak_live_ = 0, peak_live_seq_ = 0, resident_at_peak_live_ = 0;
  int64_t peak_res_ = 0, peak_res_seq_ = 0, live_at_peak_res_ = 0;
  int64_t last_live_capture_ = 0, last_res_capture_ = 0, last_snapshot_ = 0;
  bool has_pending_live_ = false, has_pending_res_ = false;
  ReplaySample pending_live_, pending_res_;
  std::vector<ReplaySample> samples_;
  int64_t snapshot_seq_ = 0;
  std::vector<SpanSnapshot> spans_;
};

// A second, quiet pass to the resident peak, for the exact span snapshot.
absl::StatusOr<std::vector<SpanSnapshot>> SnapshotAt(TraceReader* reader,
                                                     const BuiltinReplayOptions& o,
                                                     int32_t pid, int64_t seq) {
  ATR_ASSIGN_OR_RETURN(std::unique_ptr<alloc::Heap> heap, alloc::Heap::Create(o.config));
  BuiltinReplayOptions quiet = o;
  quiet.on_allocate = nullptr;
  quiet.span_snapshot = false;
  ModelBackend backend(heap.get(), quiet, 1, /*sampling=*/false);
  EngineOptions eo{.pid = pid, .until_seq = seq, .max_problems = 0, .report_leaks = false};
  ReplayEngine engine(reader, eo, &backend);
  backend.set_engine(&engine);
  ATR_RETURN_IF_ERROR(engine.Run());
  return TakeSnapshot(*heap);
}

}  // namespace

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

absl::StatusOr<int64_t> AutoSampleInterval(const TraceReader& reader) {
  // Two queries: SQLite answers min() and max() of the rowid from the
  // b-tree's ends only when each is alone in its statement.
  int64_t lo = 0, hi = 0;
  {
    ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, "SELECT min(seq) FROM event_log"));
    if (q.Next()) lo = q.Int(0);
    if (!q.status().ok()) return q.status();
  }
  {
    ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, "SELECT max(seq) FROM event_log"));
    if (q.Next()) hi = q.Int(0);
    if (!q.status().ok()) return q.status();
  }
  return std::max<int64_t>(100, (hi - lo + 1) / 1000);
}

absl::StatusOr<ReplayRun> RunBuiltinReplay(TraceReader* reader,
                                           const BuiltinReplayOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ATR_RETURN_IF_ERROR(alloc::ValidateConfig(options.config));
  int32_t pid = 0;
  if (options.pid) {
    pid = *options.pid;
  } else {
    ATR_ASSIGN_OR_RETURN(pid, DefaultPid(*reader));
  }
  int64_t interval = options.sample_every;
  if (interval <= 0) {
    ATR_ASSIGN_OR_RETURN(interval, AutoSampleInterval(*reader));
  }
  ATR_ASSIGN_OR_RETURN(std::unique_ptr<alloc::Heap> heap, alloc::Heap::Create(options.config));
  ModelBackend backend(heap.get(), options, interval, /*sampling=*/true);
  EngineOptions eo{.pid = pid,
                   .until_seq = options.until_seq,
                   .max_problems = options.max_problems,
                   .report_leaks = true,
                   .progress = options.progress};
  ReplayEngine engine(reader, eo, &backend);
  backend.set_engine(&engine);
  ATR_RETURN_IF_ERROR(engine.Run());

  ReplayRun run;
  backend.FlushPeaks();
  const alloc::HeapStats final_stats = heap->Stats();
  backend.Emit(FromStats(engine.last_seq(), SampleKind::kFinal, final_stats));
  run.samples = std::move(backend.samples_);
  std::stable_sort(run.samples.begin(), run.samples.end(),
                   [](const ReplaySample& a, const ReplaySample& b) { return a.seq < b.seq; });

  ReplaySummary& s = run.summary;
  s.allocator = "builtin";
  s.config = alloc::SerializeConfig(options.config);
  s.threads = "model";
  s.pid = pid;
  s.until_seq = engine.stopped_early() ? options.until_seq : 0;
  s.started_utc = NowUtc();
  s.events = engine.events();
  s.heap_ops = engine.heap_ops();
  s.last_seq = engine.last_seq();
  s.peak_live_bytes = backend.peak_live_;
  s.peak_live_seq = backend.peak_live_seq_;
  s.resident_at_peak_live = backend.resident_at_peak_live_;
  s.peak_resident_bytes = backend.peak_res_;
  s.peak_resident_seq = backend.peak_res_seq_;
  s.live_at_peak_resident = backend.live_at_peak_res_;
  s.avg_waste_bytes = backend.n_ > 0 ? backend.waste_sum_ / static_cast<double>(backend.n_) : 0;
  s.final_live_bytes = I(final_stats.live_requested_bytes);
  s.final_resident_bytes = I(final_stats.resident_bytes);
  FinishRatios(&s);

  if (options.span_snapshot && s.peak_resident_seq != 0) {
    if (backend.snapshot_seq_ == s.peak_resident_seq) {
      run.spans = std::move(backend.spans_);
    } else {
      ATR_ASSIGN_OR_RETURN(run.spans, SnapshotAt(reader, options, pid, s.peak_resident_seq));
    }
    run.snapshot_seq = s.peak_resident_seq;
  }

  Digest d = backend.digest_;
  for (int64_t v : {s.peak_live_bytes, s.peak_live_seq, s.resident_at_peak_live,
                    s.peak_resident_bytes, s.peak_resident_seq, s.live_at_peak_resident,
                    s.final_live_bytes, s.final_resident_bytes, s.heap_ops}) {
    d.Add(static_cast<uint64_t>(v));
  }
  for (const SpanSnapshot& sp : run.spans) {
    d.Add(sp.address);
    for (int64_t id : sp.allocation_ids) d.Add(static_cast<uint64_t>(id));
  }
  s.digest = d.Hex();

  TakeProblemsAndOutcome(engine, &run);
  s.duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  s.allocator_ns = s.duration_ns;
  return run;
}

}  // namespace atr::replay
