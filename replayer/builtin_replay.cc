#include "replayer/builtin_replay.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "allocator/heap.h"
#include "base/progress_line.h"
#include "base/status_macros.h"
#include "base/utc_time.h"
#include "db/query.h"
#include "replayer/replay_engine.h"
#include "replayer/replay_store.h"

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

// Sum of the metrics of the two heaps of a counterfactual replay.
alloc::HeapStats SumStats(const alloc::HeapStats& a, const alloc::HeapStats& b) {
  alloc::HeapStats s = a;
  s.live_objects += b.live_objects;
  s.live_requested_bytes += b.live_requested_bytes;
  s.allocated_bytes += b.allocated_bytes;
  s.internal_waste_bytes += b.internal_waste_bytes;
  s.free_slot_bytes += b.free_slot_bytes;
  s.thread_cache_bytes += b.thread_cache_bytes;
  s.free_retained_bytes += b.free_retained_bytes;
  s.released_bytes += b.released_bytes;
  s.resident_bytes += b.resident_bytes;
  s.mapped_bytes += b.mapped_bytes;
  return s;
}

void AppendSnapshot(const alloc::Heap& heap, uint64_t tag, std::vector<SpanSnapshot>* out) {
  heap.ForEachSpan([&](const alloc::SpanView& v) {
    if (v.size_class == 0 || v.live_ids.size() >= v.capacity) return;  // large or full
    SpanSnapshot s;
    s.address = v.address | tag;
    s.size_class = v.size_class;
    s.object_size = v.object_size;
    s.pages = v.pages;
    s.capacity = v.capacity;
    s.cached = v.cached;
    s.live_requested_bytes = v.live_requested_bytes;
    s.free_bytes = (v.capacity - v.live_ids.size()) * v.object_size;
    s.allocation_ids.assign(v.live_ids.begin(), v.live_ids.end());
    out->push_back(std::move(s));
  });
}

// The model heaps of one replay: the main one, and for a segregation the
// second one the chosen stacks allocate from.
struct ModelHeaps {
  std::unique_ptr<alloc::Heap> main;
  std::unique_ptr<alloc::Heap> segregated;  // null unless segregate_stacks is set

  static absl::StatusOr<ModelHeaps> Create(const BuiltinReplayOptions& o) {
    ModelHeaps h;
    ATR_ASSIGN_OR_RETURN(h.main, alloc::Heap::Create(o.config));
    if (!o.segregate_stacks.empty()) {
      ATR_ASSIGN_OR_RETURN(h.segregated, alloc::Heap::Create(o.config));
    }
    return h;
  }
  uint64_t resident_bytes() const {
    return main->resident_bytes() + (segregated ? segregated->resident_bytes() : 0);
  }
  alloc::HeapStats Stats() const {
    return segregated ? SumStats(main->Stats(), segregated->Stats()) : main->Stats();
  }
  std::vector<SpanSnapshot> Snapshot() const {
    std::vector<SpanSnapshot> out;
    AppendSnapshot(*main, 0, &out);
    if (segregated) AppendSnapshot(*segregated, kSegregatedHandle, &out);
    return out;
  }
};

// The model behind the engine, with the sampling and peak bookkeeping, and
// the routing of counterfactual replays (builtin_replay.h).
class ModelBackend : public ReplayBackend {
 public:
  ModelBackend(ModelHeaps* heaps, const BuiltinReplayOptions& o, int64_t interval, bool sampling)
      : heaps_(heaps), options_(o), interval_(interval), sampling_(sampling) {}

  void set_engine(const ReplayEngine* engine) { engine_ = engine; }

  absl::StatusOr<uint64_t> Acquire(const EventRow& e, uint64_t size, uint64_t align) override {
    if (!options_.drop_stacks.empty() && options_.drop_stacks.contains(e.stack)) {
      diverted_ = true;
      const uint64_t handle = kDroppedHandle | static_cast<uint64_t>(e.seq);
      dropped_[handle] = size;
      dropped_live_ += size;
      if (options_.on_allocate) options_.on_allocate(e.seq, handle);
      return handle;
    }
    const int h = heaps_->segregated && options_.segregate_stacks.contains(e.stack) ? 1 : 0;
    diverted_ |= h == 1;
    touched_[h] = true;
    absl::StatusOr<uint64_t> a = HeapAt(h)->Allocate(Cache(h, e.thread), size, align,
                                                     static_cast<alloc::AllocationId>(e.seq));
    if (!a.ok()) return a;
    const uint64_t handle = h == 1 ? *a | kSegregatedHandle : *a;
    digest_.Add(static_cast<uint64_t>(e.seq));
    digest_.Add(handle);
    if (options_.on_allocate) options_.on_allocate(e.seq, handle);
    return handle;
  }

  absl::Status Release(const EventRow& e, uint64_t handle, int64_t alloc_seq) override {
    if ((handle & kDroppedHandle) != 0) {
      diverted_ = true;
      auto it = dropped_.find(handle);
      if (it != dropped_.end()) {
        dropped_live_ -= it->second;
        dropped_.erase(it);
      }
      return absl::OkStatus();
    }
    digest_.Add(static_cast<uint64_t>(e.seq) ^ handle);
    const int h = (handle & kSegregatedHandle) != 0 ? 1 : 0;
    diverted_ |= h == 1;
    touched_[h] = true;
    return HeapAt(h)->Free(Cache(h, e.thread), handle & ~kSegregatedHandle);
  }

  void ThreadExit(const EventRow& e) override {
    for (int h = 0; h < 2; ++h) {
      size_t i = static_cast<size_t>(e.thread);
      if (i < caches_[h].size() && caches_[h][i] != kNoCache) {
        (void)HeapAt(h)->FlushThreadCache(caches_[h][i]);
      }
    }
  }

  void AfterEvent(const EventRow& e, bool heap_op) override {
    // Every heap's clock counts every event (the idle scavenger measures
    // time in events): an event that did not reach a heap ticks it once.
    if (!heap_op || (diverted_ && !touched_[0])) heaps_->main->Tick(1);
    if (heaps_->segregated && !touched_[1]) heaps_->segregated->Tick(1);
    touched_[0] = touched_[1] = diverted_ = false;
    ++n_;
    if (!sampling_) return;
    const int64_t live = I(engine_->live_bytes() - dropped_live_);
    const int64_t res = I(heaps_->resident_bytes());
    waste_sum_ += static_cast<double>(res - live);
    if (live > peak_live_) {
      peak_live_ = live;
      peak_live_seq_ = e.seq;
      resident_at_peak_live_ = res;
      if (n_ - last_live_capture_ >= kPeakCaptureEvery || last_live_capture_ == 0) {
        last_live_capture_ = n_;
        pending_live_ = FromStats(e.seq, SampleKind::kPeakLive, heaps_->Stats());
        has_pending_live_ = true;
      }
    }
    if (res > peak_res_) {
      peak_res_ = res;
      peak_res_seq_ = e.seq;
      live_at_peak_res_ = live;
      if (n_ - last_res_capture_ >= kPeakCaptureEvery || last_res_capture_ == 0) {
        last_res_capture_ = n_;
        pending_res_ = FromStats(e.seq, SampleKind::kPeakResident, heaps_->Stats());
        has_pending_res_ = true;
      }
      if (options_.span_snapshot &&
          (snapshot_seq_ == 0 ||
           n_ - last_snapshot_ >= std::max<int64_t>(kMinSnapshotEvery,
                                                    I(engine_->live_objects()) / 4))) {
        last_snapshot_ = n_;
        snapshot_seq_ = e.seq;
        spans_ = heaps_->Snapshot();
      }
    }
    if (n_ % interval_ == 0) {
      FlushPeaks();
      Emit(FromStats(e.seq, SampleKind::kInterval, heaps_->Stats()));
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

  alloc::Heap* HeapAt(int h) { return h ? heaps_->segregated.get() : heaps_->main.get(); }

  // The thread cache of recorded thread `thread` in heap h (0 main, 1 segregated).
  alloc::ThreadCacheId Cache(int h, int64_t thread) {
    std::vector<alloc::ThreadCacheId>& caches = caches_[h];
    size_t i = thread < 0 ? 0 : static_cast<size_t>(thread);
    if (i >= caches.size()) caches.resize(i + 1, kNoCache);
    if (caches[i] == kNoCache) caches[i] = HeapAt(h)->CreateThreadCache();
    return caches[i];
  }

  static constexpr alloc::ThreadCacheId kNoCache = ~alloc::ThreadCacheId{0};

  ModelHeaps* heaps_;
  const BuiltinReplayOptions& options_;
  const ReplayEngine* engine_ = nullptr;
  const int64_t interval_;
  const bool sampling_;
  std::vector<alloc::ThreadCacheId> caches_[2];  // per heap, indexed by threads.id
  bool touched_[2] = {false, false};  // this event reached heap 0 / 1
  bool diverted_ = false;             // this event went to heap 1 or was dropped
  absl::flat_hash_map<uint64_t, uint64_t> dropped_;  // live dropped handle -> size
  uint64_t dropped_live_ = 0;
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
  ATR_ASSIGN_OR_RETURN(ModelHeaps heaps, ModelHeaps::Create(o));
  BuiltinReplayOptions quiet = o;
  quiet.on_allocate = nullptr;
  quiet.span_snapshot = false;
  ModelBackend backend(&heaps, quiet, 1, /*sampling=*/false);
  EngineOptions eo{.pid = pid, .until_seq = seq, .max_problems = 0, .report_leaks = false};
  ReplayEngine engine(reader, eo, &backend);
  backend.set_engine(&engine);
  ATR_RETURN_IF_ERROR(engine.Run());
  return heaps.Snapshot();
}

}  // namespace

std::string NowUtc() { return UtcNow("%Y-%m-%dT%H:%M:%SZ"); }

absl::StatusOr<int64_t> AutoSampleInterval(const TraceReader& reader) {
  // Two queries: SQLite answers min() and max() of the rowid from the
  // b-tree's ends only when each is alone in its statement.
  ATR_ASSIGN_OR_RETURN(const int64_t lo, QueryScalar(reader, "SELECT min(seq) FROM event_log"));
  ATR_ASSIGN_OR_RETURN(const int64_t hi, QueryScalar(reader, "SELECT max(seq) FROM event_log"));
  return std::max<int64_t>(100, (hi - lo + 1) / 1000);
}

absl::StatusOr<ReplayScope> ResolveReplayScope(const TraceReader& reader,
                                               std::optional<int32_t> pid,
                                               int64_t sample_every) {
  ReplayScope scope;
  if (pid) {
    scope.pid = *pid;
  } else {
    ATR_ASSIGN_OR_RETURN(scope.pid, DefaultPid(reader));
  }
  if (sample_every > 0) {
    scope.sample_every = sample_every;
  } else {
    ATR_ASSIGN_OR_RETURN(scope.sample_every, AutoSampleInterval(reader));
  }
  return scope;
}

absl::StatusOr<int64_t> NewestBuiltinSnapshotReplay(const TraceReader& reader) {
  return NewestReplay(reader, "allocator = 'builtin' AND snapshot_seq > 0");
}

absl::StatusOr<int64_t> EnsureBuiltinReplay(const std::string& trace_path, bool progress) {
  {
    ATR_ASSIGN_OR_RETURN(TraceReader reader, TraceReader::Open(trace_path));
    ATR_ASSIGN_OR_RETURN(const int64_t id, NewestBuiltinSnapshotReplay(reader));
    if (id != 0) return id;
  }
  // A fresh reader: the replay reads the trace the way `atr replay` does.
  ATR_ASSIGN_OR_RETURN(TraceReader reader, TraceReader::Open(trace_path));
  ATR_ASSIGN_OR_RETURN(const int64_t last_seq,
                       QueryScalar(reader, "SELECT max(seq) FROM event_log"));
  ProgressLine line(progress, "replaying");
  BuiltinReplayOptions options;
  options.progress = [&line, last_seq](int64_t seq) { line.Update(seq, last_seq); };
  ATR_ASSIGN_OR_RETURN(ReplayRun run, RunBuiltinReplay(&reader, options));
  line.Done();
  return StoreReplay(trace_path, run);
}

absl::StatusOr<ReplayRun> RunBuiltinReplay(TraceReader* reader,
                                           const BuiltinReplayOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ATR_RETURN_IF_ERROR(alloc::ValidateConfig(options.config));
  ATR_ASSIGN_OR_RETURN(const ReplayScope scope,
                       ResolveReplayScope(*reader, options.pid, options.sample_every));
  const int32_t pid = scope.pid;
  const int64_t interval = scope.sample_every;
  ATR_ASSIGN_OR_RETURN(ModelHeaps heaps, ModelHeaps::Create(options));
  ModelBackend backend(&heaps, options, interval, /*sampling=*/true);
  EngineOptions eo{.pid = pid,
                   .until_seq = options.until_seq,
                   .max_problems = options.max_problems,
                   .report_leaks = true,
                   .progress = options.progress,
                   .on_event = options.on_event};
  ReplayEngine engine(reader, eo, &backend);
  backend.set_engine(&engine);
  ATR_RETURN_IF_ERROR(engine.Run());

  ReplayRun run;
  backend.FlushPeaks();
  const alloc::HeapStats final_stats = heaps.Stats();
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
