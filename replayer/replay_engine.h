// ReplayEngine: walks a trace's events in seq order, keeps the state of
// every heap block (live, released, being realloc'ed), runs the checks
// (replayer/checks.h) and hands the heap operations of one process, with
// their exact semantics resolved, to a ReplayBackend (the built-in model, a
// real allocator's op stream, or nothing for `atr check`).
//
// Layout: per process, one hash map address -> Block. A block stays in the
// map after its release (state kFreed, with the release recorded) until the
// address is acquired again, which is what names the first release of a
// double free; so memory is bounded by the live blocks plus the distinct
// released addresses not yet reused, never by the trace length. Per recorded
// thread (threads.id), a pending realloc_release, resolved by that thread's
// next event (docs/trace-format.md, "Ordering": a failed realloc leaves
// the old block live).
//
// Semantics given to the backend: Acquire(size, align, id) with id = the
// event's seq (= allocations.id); for a successful realloc that moves, the
// new block is acquired before the old one is released (the copy needs
// both); for one that stays in place, release then acquire. calloc's size is
// nmemb*size, valloc/pvalloc are page aligned (the requested size is kept).
//
//   MyBackend backend;
//   ReplayEngine engine(&reader, {.pid = 42}, &backend);
//   ATR_RETURN_IF_ERROR(engine.Run());
//   engine.problems().problems();  // findings, first 10000 kept in full
//
// Observers: EngineOptions::on_event sees every event the engine walks, in
// seq order, after the heap side handled it; the stack model rides along
// that way (`atr replay --stack-size`), so heap and stack are one pass.
#ifndef ATR_REPLAYER_REPLAY_ENGINE_H_
#define ATR_REPLAYER_REPLAY_ENGINE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/trace_reader.h"
#include "replayer/checks.h"
#include "replayer/replay_result.h"

namespace atr::replay {

// The process a replay models when none is named: the one that started
// first (the recorded command itself).
absl::StatusOr<int32_t> DefaultPid(const TraceReader& reader);

// Receives the heap operations of the replayed process in seq order.
class ReplayBackend {
 public:
  virtual ~ReplayBackend() = default;
  // A block of `size` bytes aligned to `align` (0 = default) was acquired by
  // event e (id = e.seq). Returns the backend's handle for the block, which
  // is passed back to Release.
  virtual absl::StatusOr<uint64_t> Acquire(const EventRow& e, uint64_t size, uint64_t align) = 0;
  // The block acquired by event `alloc_seq` is released by event e.
  virtual absl::Status Release(const EventRow& e, uint64_t handle, int64_t alloc_seq) = 0;
  virtual void ThreadExit(const EventRow& e) {}
  // After every event of the replayed process; heap_op: it was a heap call.
  virtual void AfterEvent(const EventRow& e, bool heap_op) {}
};

struct EngineOptions {
  std::optional<int32_t> pid{};      // only this process (else every process)
  int64_t until_seq = std::numeric_limits<int64_t>::max();  // stop after this event
  size_t max_problems = 10000;       // problems kept in full (all are counted)
  bool report_leaks = true;          // leaks when the trace ends (not with --until)
  // Called about every 64k events with the last seq done (progress lines).
  std::function<void(int64_t seq)> progress{};
  // Every event walked (the replayed process's with pid set), after the
  // heap side; unknown ops included. Null: none.
  std::function<void(const EventRow& e)> on_event{};
};

class ReplayEngine {
 public:
  // backend may be null (checks only). REQUIRES: reader outlives the engine.
  // With options.pid set, only that process's events are read; the backend
  // then receives them. Without it, every process is checked and the
  // backend (if any) receives nothing.
  ReplayEngine(TraceReader* reader, EngineOptions options, ReplayBackend* backend);
  ~ReplayEngine();

  // Streams the events. Errors are I/O or corruption of the file; bad
  // events are problems, never errors.
  absl::Status Run();

  ProblemLog& problems() { return problems_; }
  int64_t events() const { return events_; }        // events processed
  int64_t heap_ops() const { return heap_ops_; }    // acquisitions + releases replayed
  int64_t last_seq() const { return last_seq_; }
  bool stopped_early() const { return stopped_early_; }  // --until reached
  // Live blocks of the replayed process (the backend's view).
  uint64_t live_bytes() const { return live_bytes_; }
  uint64_t live_objects() const { return live_objects_; }

 private:
  enum class BlockState : uint8_t { kLive, kFreed, kPending };
  // 40 bytes: the rest of each end's facts (time, thread, stack) is read
  // back from the trace by seq for the few problems that are reported.
  struct Block {
    uint64_t handle = 0;       // backend's handle; meaningful with in_backend
    int64_t alloc_seq = 0;
    uint64_t size = 0;         // bytes requested
    int64_t release_seq = 0;   // 0 while live
    int32_t pending_thread = -1;
    Op alloc_op = Op::kMalloc;
    BlockState state = BlockState::kLive;
    bool in_backend = false;   // the backend holds it (replayed process, not inherited)
    bool inherited = false;    // copied from the parent at fork: never a leak
  };
  struct ProcessState {
    int32_t pid = 0;
    bool replayed = false;          // its heap ops go to the backend
    bool started = false;           // its process_start was seen
    bool forked_child = false;      // unknown releases may be the parent's blocks
    absl::flat_hash_map<uint64_t, Block> blocks;
    std::map<uint64_t, uint64_t> mappings;  // start -> end of recorded mmaps
    // Ranges a recorded munmap released (and not mapped again since), with
    // that munmap: a second munmap there is reported; a munmap of a range
    // never seen at all is not (the loader and libc map memory unrecorded).
    std::map<uint64_t, std::pair<uint64_t, EventRef>> unmapped;
  };
  struct ThreadState {
    bool pending = false;    // a realloc_release waits for its realloc
    int32_t pid = 0;
    uint64_t addr = 0;
    EventRow release{};
  };

  ProcessState& Process(int32_t pid);
  ThreadState& Thread(int64_t thread);
  void OnEvent(const EventRow& e);
  void Acquire(ProcessState& ps, const EventRow& e);
  void Release(ProcessState& ps, const EventRow& e);
  void ReallocRelease(ProcessState& ps, ThreadState& ts, const EventRow& e);
  void ReallocAcquire(ProcessState& ps, ThreadState& ts, const EventRow& e);
  void CommitPending(ThreadState& ts);
  void FreeBlock(ProcessState& ps, Block& b, const EventRow& e);
  void CheckRelease(const ProcessState& ps, const Block& b, const EventRow& e);
  bool AcquireBlock(ProcessState& ps, const EventRow& e, uint64_t addr);
  void Map(ProcessState& ps, uint64_t addr, uint64_t len);
  bool Unmap(ProcessState& ps, uint64_t addr, uint64_t len);  // false: nothing was mapped
  static void Subtract(std::map<uint64_t, std::pair<uint64_t, EventRef>>& m, uint64_t lo,
                       uint64_t hi);
  void OnFork(ProcessState& parent, int32_t child);
  void ReportLeaks();
  void AddProblem(ProblemKind k, const ProcessState& ps, const EventRow& e, const Block* b,
                  std::string detail = {});
  void BackendError(const EventRow& e, const absl::Status& s);
  // Fills the EventRefs of kept problems that only know their seq.
  absl::Status ResolveRefs();

  TraceReader* reader_;
  EngineOptions options_;
  ReplayBackend* backend_;
  ProblemLog problems_;
  absl::flat_hash_map<int32_t, std::unique_ptr<ProcessState>> processes_;
  ProcessState* last_process_ = nullptr;
  std::vector<ThreadState> threads_;   // indexed by threads.id
  absl::flat_hash_map<int32_t, int32_t> parents_;  // pid -> ppid (traced parents only)
  int64_t events_ = 0;
  int64_t heap_ops_ = 0;
  int64_t last_seq_ = 0;
  bool stopped_early_ = false;
  uint64_t live_bytes_ = 0;
  uint64_t live_objects_ = 0;
};

// Moves the engine's findings into `run` and sets the summary's problem
// count and outcome ("complete", "until", or "partial: ..." for an
// unfinished trace): the same for every allocator.
void TakeProblemsAndOutcome(ReplayEngine& engine, ReplayRun* run);

}  // namespace atr::replay

#endif  // ATR_REPLAYER_REPLAY_ENGINE_H_
