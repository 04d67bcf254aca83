// Row types of a trace (schema version 2), shared by TraceWriter and
// TraceReader. One struct per table; docs/trace-format.md is the reference
// for every column, its unit and what NULL means. In these structs:
//   - ids (stack, parent, module_id, frame) use 0 for "none" (NULL in SQL);
//   - other optional columns are std::optional (nullopt = NULL = unknown);
//   - times are nanoseconds, sizes and addresses bytes, seqs the global
//     event order (docs/trace-format.md, "Ordering").
//
//   atr::EventRow e{.seq = 7, .ts_ns = 1200, .pid = 42, .tid = 42,
//                   .op = atr::Op::kMalloc, .addr = 0x5555'0000'1000,
//                   .size = 24, .stack = 3};
//   writer->AddEvent(e);
#ifndef ATR_DB_TRACE_ROWS_H_
#define ATR_DB_TRACE_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/ops.h"

namespace atr {

// Newest trace schema this build reads and the one it writes.
inline constexpr int kTraceSchemaVersion = 2;

// A stack is named by the id of its leaf (innermost) node in `stacks`.
using StackId = int64_t;

// events: one interposed call, or one half of realloc/mremap.
struct EventRow {
  int64_t seq = 0;        // global order, >= 1, unique; docs/trace-format.md
  int64_t ts_ns = 0;      // nanoseconds since the trace's start (meta start_time_utc)
  int32_t pid = 0;        // process that made the call
  int32_t tid = 0;        // thread that made the call (Linux tid)
  Op op = Op::kMalloc;    // what was called; meaning of addr/size/arg per op in db/ops.h
  uint64_t addr = 0;      // result or argument address; 0 = none / failed
  uint64_t size = 0;      // bytes; 0 where the op has no size (free, delete)
  uint64_t arg = 0;       // per-op extra (alignment, old pointer, nmemb...); 0 = none
  StackId stack = 0;      // leaf of the call stack; 0 = not recorded
  uint32_t sp_depth = 0;  // bytes from the thread's stack top to SP; 0 = unknown
  int64_t thread = 0;     // threads.id; filled by TraceReader, ignored by TraceWriter

  friend bool operator==(const EventRow&, const EventRow&) = default;
};

// processes: one row per process image (a pid that execs gets a new image).
struct ProcessRow {
  int64_t id = 0;                          // row id; filled by TraceReader
  int32_t pid = 0;                         // with image: the key
  int32_t image = 0;                       // 0, then 1, 2... after each exec
  std::optional<int32_t> ppid{};             // parent pid
  std::optional<std::string> exe{};          // executable path
  std::optional<std::vector<std::string>> argv{};  // stored as a JSON array
  std::optional<std::string> cwd{};          // working directory at start
  std::optional<int64_t> started_seq{};      // seq of its process_start event
  std::optional<int64_t> ended_seq{};        // seq of its process_exit/exec event
  std::optional<int64_t> started_ns{};       // ns since trace start
  std::optional<int64_t> ended_ns{};         // ns since trace start
  std::optional<int32_t> exit_status{};      // exit code; nullopt: signalled/unknown
  std::optional<int32_t> exit_signal{};      // terminating signal; nullopt: none/unknown

  friend bool operator==(const ProcessRow&, const ProcessRow&) = default;
};

// threads: one row per (pid, tid).
struct ThreadRow {
  int64_t id = 0;                       // row id (events.thread); filled by TraceReader
  int32_t pid = 0;                      // with tid: the key
  int32_t tid = 0;                      // Linux thread id
  std::optional<std::string> name{};      // pthread name as last seen
  std::optional<int32_t> creator_tid{};   // thread that created it; 0 = process's first
  std::optional<int64_t> started_seq{};   // seq of its thread_start event
  std::optional<int64_t> ended_seq{};     // seq of its thread_exit event
  std::optional<uint64_t> stack_lo{};     // stack bounds [lo, hi) in memory
  std::optional<uint64_t> stack_hi{};

  friend bool operator==(const ThreadRow&, const ThreadRow&) = default;
};

// modules: a loaded object in one process. pc - bias = ELF virtual address.
struct ModuleRow {
  int64_t id = 0;                       // > 0, chosen by the writer's caller
  int32_t pid = 0;                      // process it was loaded into
  std::string path{};                     // as the loader saw it
  std::optional<std::string> build_id{};  // hex of NT_GNU_BUILD_ID
  uint64_t bias = 0;                    // load bias
  uint64_t lo = 0;                      // extent of PT_LOAD segments, [lo, hi)
  uint64_t hi = 0;
  std::optional<int64_t> loaded_seq{};    // global seq when the load was seen
  std::optional<int64_t> unloaded_seq{};  // ... and the unload; nullopt: never

  friend bool operator==(const ModuleRow&, const ModuleRow&) = default;
};

// frames: one distinct return address (module, rel_pc). Symbol columns
// describe the innermost (possibly inlined) function at that pc.
struct FrameRow {
  int64_t id = 0;                       // > 0, chosen by the writer's caller
  int64_t module_id = 0;                // 0: pc outside any module
  uint64_t rel_pc = 0;                  // pc - bias (absolute pc if no module)
  std::optional<std::string> function{};  // demangled; nullopt until symbolized
  std::optional<std::string> file{};
  std::optional<int32_t> line{};
  std::optional<int32_t> column{};
  std::optional<int32_t> frame_size{};    // bytes the function's prologue reserves below
                                          // its return address (pushes + sub rsp)
  std::optional<bool> dynamic_frame{};    // the function also grows its frame at run
                                          // time (alloca, VLA: sub rsp, reg)
  std::optional<std::string> call_insn{}; // the call instruction ending at rel_pc
                                          // ("call 0x1139"); nullopt: none found

  friend bool operator==(const FrameRow&, const FrameRow&) = default;
};

// inline_frames: callers inlined at a frame's pc, depth 1 = the function the
// innermost was inlined into, then outward.
struct InlineFrameRow {
  int32_t depth = 0;                    // >= 1
  std::optional<std::string> function{};
  std::optional<std::string> file{};
  std::optional<int32_t> line{};
  std::optional<int32_t> column{};

  friend bool operator==(const InlineFrameRow&, const InlineFrameRow&) = default;
};

// stacks: a trie node. A stack is its leaf; parent = the stack of callers.
struct StackNodeRow {
  StackId id = 0;                       // > 0, chosen by the writer's caller
  StackId parent = 0;                   // 0 at the outermost frame
  int64_t frame = 0;                    // frames.id of this node's pc

  friend bool operator==(const StackNodeRow&, const StackNodeRow&) = default;
};

// allocations: a heap block's lifetime (view over events; see docs).
struct AllocationRow {
  int64_t id = 0;                       // = alloc_seq
  int32_t pid = 0;
  uint64_t addr = 0;
  uint64_t size = 0;                    // bytes requested
  uint64_t align = 0;                   // requested alignment; 0 = default
  Op op = Op::kMalloc;                  // acquiring op
  int64_t alloc_seq = 0;
  std::optional<int64_t> free_seq{};      // nullopt: never released
  std::optional<Op> free_op{};            // releasing op (free, delete, realloc_release...)
  StackId alloc_stack = 0;
  StackId free_stack = 0;
  int32_t alloc_tid = 0;
  std::optional<int32_t> free_tid{};

  friend bool operator==(const AllocationRow&, const AllocationRow&) = default;
};

// What BuildAllocations found. Also stored in meta (alloc_* keys).
struct AllocationStats {
  int64_t allocations = 0;         // heap acquisitions with addr != 0
  uint64_t allocated_bytes = 0;    // bytes requested by those acquisitions
  int64_t releases = 0;            // releases that closed an allocation
  int64_t leaked = 0;              // allocations never released
  int64_t unmatched_releases = 0;  // release of an address not live (double free, unknown)
  int64_t inherited_releases = 0;  // release in a forked child of a parent's block
  int64_t failed_reallocs = 0;     // realloc returned 0 with size > 0: old block kept
  int64_t failed_acquisitions = 0; // other acquisitions that returned 0
  int64_t reacquired_live = 0;     // acquisition of an address already live (lost free)
  uint64_t peak_live_bytes = 0;    // max over time of requested bytes live, all pids
  int64_t peak_live_seq = 0;       // seq at which that peak was first reached

  friend bool operator==(const AllocationStats&, const AllocationStats&) = default;
};

}  // namespace atr

#endif  // ATR_DB_TRACE_ROWS_H_
