// The spool: how the preload library hands events to the collector.
//
// A spool is a directory (named by ATR_SPOOL_DIR in the target's
// environment). It holds:
//   control            one 4 KiB page, MAP_SHARED by every traced process of
//                      the tree: the global sequence counter and flags.
//   <pid>.<n>.spool    one append-only file per process image (n counts the
//                      images a pid went through: 0, then 1 after an exec...).
//
// A spool file is a sequence of chunks. Each chunk is written by one thread
// with a single write(2) or writev(2) on an O_APPEND descriptor, so chunks never
// interleave and a chunk is either wholly in the file or (after a crash in
// the middle of a write, or a full disk) a truncated tail the reader reports.
// Chunk = ChunkHeader + records; every record starts with a RecordHeader
// and is a multiple of 8 bytes long; a chunk's payload is at most
// kMaxChunkPayload bytes and holds whole records only.
//
// The hot events (allocation calls, function enter/exit) are written as
// CompactEventRecords: seq, tsc and addr as deltas against the previous
// event of the same chunk (the DeltaBase), other fields only as wide as
// their value needs. Deltas restart from zero at every chunk, so each chunk
// decodes on its own (readers may resume at any chunk); a chunk that does
// not start at the beginning of its thread's buffer opens with a
// DeltaBaseRecord. The codec is recorder/spool_compact.h; readers present a
// compact record as the EventRecord it encodes.
//
// The first chunk of a file holds the ProcessRecord (first record), a
// ModuleRecord per object loaded at that moment, then the image's
// kProcessStart event. Module records for later dlopen/dlclose (or loads the
// library notices late) are written as their own chunks, before any chunk
// that could name their pcs.
//
// Ordering: within one thread, records are in program order. Across threads
// and processes only EventRecord::seq orders events (docs/trace-format.md): a
// release takes its seq before the real call, an acquisition after it
// returns. A StackRecord always precedes, in the same thread's stream, the
// first event that names its hash; a ModuleRecord precedes every StackRecord
// whose pcs it covers.
//
// Header-only and dependency-free: both the preload library and the
// collector include it. Layout is little-endian x86-64, native alignment.
#ifndef ATR_RECORDER_SPOOL_FORMAT_H_
#define ATR_RECORDER_SPOOL_FORMAT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace atr::spool {

inline constexpr char kControlFileName[] = "control";
inline constexpr char kSpoolSuffix[] = ".spool";
// 1: every event a 56-byte EventRecord. 2: CompactEventRecord and
// DeltaBaseRecord; the version is in every ProcessRecord's header.
inline constexpr uint32_t kSpoolVersion = 2;
static_assert(kSpoolVersion < 256, "stored in RecordHeader::op");

// Environment variables the preload library reads.
inline constexpr char kEnvSpoolDir[] = "ATR_SPOOL_DIR";   // required to record
// table|libunwind|fp|none; table (the DWARF-table unwinder) is the default.
inline constexpr char kEnvUnwind[] = "ATR_UNWIND";
inline constexpr char kEnvMaxDepth[] = "ATR_MAX_DEPTH";   // frames, default 64
inline constexpr char kEnvFreeStacks[] = "ATR_FREE_STACKS";  // "0" disables
// "1": record function enter/exit of -finstrument-functions code (kFuncEnter
// and kFuncExit events) and take event stacks from the shadow call stack.
inline constexpr char kEnvStackOps[] = "ATR_STACK_OPS";

// The shared control page. Created (zero-filled, then magic set) by whoever
// creates the spool: the collector, or the first traced process when the
// preload library is used alone.
struct ControlPage {
  static constexpr uint64_t kMagic = 0x3130'4C52'5443'5241ull;  // "ARTCRL01"
  uint64_t magic;
  uint32_t version;              // kSpoolVersion
  uint32_t unwinder;             // informational: which unwinder the tree uses
  std::atomic<uint64_t> next_seq;  // global event sequence; first event gets 1
  std::atomic<uint64_t> processes_started;  // spool files ever created
  std::atomic<uint64_t> lost_events;        // events that could not be recorded
  std::atomic<uint64_t> tsc_hz;  // rdtsc ticks per second; 0 until a process
                                 // of the tree measured it (once per tree)
};
static_assert(sizeof(ControlPage) <= 4096);

// Writers never produce a larger chunk payload; readers reject one.
inline constexpr uint32_t kMaxChunkPayload = 1u << 20;

struct ChunkHeader {
  static constexpr uint32_t kMagic = 0x4B525441;  // "ATRK"
  uint32_t magic;
  uint32_t payload_bytes;  // bytes of records following this header
  uint32_t pid;
  uint32_t tid;            // thread that wrote every record in the chunk
};
static_assert(sizeof(ChunkHeader) == 16);

enum class RecordType : uint8_t {
  kEvent = 1,
  kStack = 2,
  kModule = 3,
  kThread = 4,
  kProcess = 5,
  kLost = 6,
};

// Wire-only record types, outside RecordType: SpoolFileReader decodes them
// away (a compact event is presented as a kEvent, a delta base is consumed),
// so consumers' switches over RecordType never meet them.
inline constexpr uint8_t kCompactEventType = 7;
inline constexpr uint8_t kDeltaBaseType = 8;

struct RecordHeader {
  RecordType type;
  uint8_t op;       // EventRecord, CompactEventRecord: an atr::Op code;
                    // ProcessRecord: kSpoolVersion; else 0
  uint16_t bytes;   // whole record size, header included, multiple of 8
};
static_assert(sizeof(RecordHeader) == 4);

// One interposed call (or one half of realloc/mremap). Field meaning per op
// is documented on atr::Op (db/ops.h), with these preload-side details:
//   kExec / kUntracedExec  recorded before the exec; if the exec returns
//                          (failed), a second kExec follows with arg = errno.
//   kProcessStart          arg = ppid.
//   kThreadStart           arg = creating thread's tid.
//   kDlopen                addr = handle, arg = mode flags; kDlclose arg = rc.
//   kFuncEnter / kFuncExit (ATR_STACK_OPS=1, from __cyg_profile_func_enter/
//                          exit): addr = the function's entry address, arg =
//                          its call site (the return address into the
//                          caller), size 0, stack 0 (the collector rebuilds
//                          the path from the stream), sp_depth from the
//                          instrumented function's own SP (its static frame
//                          is included). Written compact (24 bytes when
//                          consecutive functions lie within 2 GiB).
// Events recorded from a signal handler that interrupted a hook carry
// stack 0 (no unwinding there).
struct EventRecord {
  RecordHeader h;
  uint32_t sp_depth;   // bytes between the thread's stack top and its SP
  uint64_t seq;        // from ControlPage::next_seq
  uint64_t tsc;        // rdtsc at the call; ProcessRecord gives calibration
  uint64_t addr;
  uint64_t size;
  uint64_t arg;
  uint64_t stack;      // hash naming a StackRecord; 0 = no stack recorded
};
static_assert(sizeof(EventRecord) == 56);

// The record for an event from its fields, the same for the preload's writer
// and for tests that build spool input by hand.
inline EventRecord MakeEventRecord(uint8_t op, uint32_t sp_depth, uint64_t seq, uint64_t tsc,
                                   uint64_t addr, uint64_t size, uint64_t arg, uint64_t stack) {
  EventRecord e;
  e.h = {RecordType::kEvent, op, sizeof(EventRecord)};
  e.sp_depth = sp_depth;
  e.seq = seq;
  e.tsc = tsc;
  e.addr = addr;
  e.size = size;
  e.arg = arg;
  e.stack = stack;
  return e;
}

// The encoder's state within one chunk: the last event's seq and tsc, and
// the last addr of each kind (function events, kFuncEnter/kFuncExit, and all
// others). Zero at the start of every chunk; every event record, compact or
// full, advances it.
struct DeltaBase {
  uint64_t seq;
  uint64_t tsc;
  uint64_t addr;  // of the last event that is not a function event
  uint64_t fn;    // of the last function event
};

// How a compact record stores addr, size and arg: 2 bits each.
enum CompactWidth : uint32_t {
  kWidthZero = 0,     // the value is 0; nothing stored
  kWidth32 = 1,       // uint32_t value
  kWidthDelta32 = 2,  // int32_t delta: addr against DeltaBase addr/fn of its
                      // kind, arg against this event's addr; not for size
  kWidth64 = 3,       // uint64_t value
};
enum CompactFieldBits : uint32_t {
  kCompactHasStack = 1u,  // an 8-byte stack hash follows; else stack 0
  kCompactAddrShift = 1,  // CompactWidth of addr at bits 1-2
  kCompactSizeShift = 3,  // ... of size at bits 3-4
  kCompactArgShift = 5,   // ... of arg at bits 5-6; bit 7 is 0
};
inline constexpr uint32_t kMaxCompactDepth = (1u << 24) - 1;

// One hot event, as EventRecord but with seq = base.seq + seq_delta, tsc =
// base.tsc + tsc_delta (both deltas unsigned 32-bit), then in this order the
// fields its bits say are present: stack (8 B), addr, size, arg (4 or 8 B
// each, per CompactWidth); zero-padded to a multiple of 8. malloc with a
// stack: 32 bytes; free: 32 (24 without a stack); enter/exit: 24. An event
// that does not fit (a delta beyond 32 bits or backwards, sp_depth above
// kMaxCompactDepth) or a rare op is written as a 56-byte EventRecord.
struct CompactEventRecord {
  RecordHeader h;          // type kCompactEventType, op, bytes
  uint32_t depth_fields;   // sp_depth << 8 | CompactFieldBits/CompactWidths
  uint32_t seq_delta;
  uint32_t tsc_delta;
};
static_assert(sizeof(CompactEventRecord) == 16);
inline constexpr uint32_t kMaxCompactBytes = sizeof(CompactEventRecord) + 8 * 4;

// Sets the DeltaBase: opens a chunk that starts in the middle of a thread's
// buffer (written by another thread's crash, exec or exit flush).
struct DeltaBaseRecord {
  RecordHeader h;          // type kDeltaBaseType, op 0, 40 bytes
  uint32_t reserved;       // 0
  DeltaBase base;
};
static_assert(sizeof(DeltaBaseRecord) == 40);

// A call stack, first seen by this thread. pcs are return addresses,
// innermost first, with the interposition frames already removed. The same
// hash may be defined again by other threads or after a fork; it always
// names the same pcs within one process image.
struct StackRecord {
  RecordHeader h;
  uint32_t depth;      // number of pcs that follow
  uint64_t hash;       // never 0
  // uint64_t pcs[depth];
};
static_assert(sizeof(StackRecord) == 16);

// A loaded object (executable, shared library, vDSO) or its unloading.
struct ModuleRecord {
  enum Flags : uint32_t { kLoaded = 1, kUnloaded = 2 };
  RecordHeader h;
  uint32_t flags;
  uint64_t seq;        // the global seq current when the change was seen
  uint64_t bias;       // load bias: pc - bias = ELF virtual address
  uint64_t lo, hi;     // extent of its PT_LOAD segments in memory, [lo, hi)
  // char path[];      // NUL-terminated, padded with NULs to 8 bytes
};
static_assert(sizeof(ModuleRecord) == 40);

// Facts about the writing thread (chunk's tid), sent when the thread first
// records and again when it learns more (name changes, exit).
struct ThreadRecord {
  enum Flags : uint32_t { kExiting = 1 };  // sent by the thread's exit path
  RecordHeader h;
  uint32_t creator_tid;  // 0 for a process's first thread
  uint64_t stack_lo;     // thread stack bounds, 0 if unknown
  uint64_t stack_hi;
  uint32_t flags;        // Flags
  uint32_t reserved;     // 0
  char name[16];         // as pthread_getname_np, NUL-terminated
};
static_assert(sizeof(ThreadRecord) == 48);

// The first record of every spool file.
struct ProcessRecord {
  RecordHeader h;
  uint32_t ppid;
  uint64_t tsc;        // a simultaneous reading of rdtsc ...
  uint64_t mono_ns;    // ... CLOCK_MONOTONIC ...
  uint64_t real_ns;    // ... and CLOCK_REALTIME
  uint64_t tsc_hz;     // 0 if the library did not measure it
  uint32_t image;      // n of <pid>.<n>.spool
  uint32_t argc;
  // Then NUL-terminated strings: exe path, cwd, argv[0..argc), padded to 8.
};
static_assert(sizeof(ProcessRecord) == 48);

// Events the thread could not record (reason: the preload library's
// fallback paths); the collector adds them to meta's lost-event count.
struct LostRecord {
  RecordHeader h;
  uint32_t count;
};
static_assert(sizeof(LostRecord) == 8);

constexpr uint32_t RoundUp8(uint32_t n) { return (n + 7u) & ~7u; }

}  // namespace atr::spool

#endif  // ATR_RECORDER_SPOOL_FORMAT_H_
