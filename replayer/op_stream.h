// The op stream of a real-allocator replay: what `atr replay --allocator X`
// writes for the child process `atr-replay-driver`, which performs the real
// calls with X LD_PRELOADed (an allocator must be in place before the
// process starts, hence a separate executable).
//
// Layout: a file of 16-byte little-endian records after a 32-byte header.
// Blocks are named by slot numbers (recycled, so the driver's slot table is
// bounded by the live blocks, as in Firefox's logalloc-replay), and every
// record names the dense index of the recorded thread that made the call.
// A realloc is two records (kReallocFrom then kRealloc); a sample point is
// three (kSample, then live bytes and live objects as kData). Header-only
// and dependency-free: the driver includes nothing else from atr.
#ifndef ATR_REPLAYER_OP_STREAM_H_
#define ATR_REPLAYER_OP_STREAM_H_

#include <cstdint>

namespace atr::replay::ops {

inline constexpr char kMagic[8] = {'A', 'T', 'R', 'O', 'P', 'S', '1', '\0'};

struct Header {
  char magic[8];
  uint32_t threads;     // recorded threads (dense indexes 0..threads-1)
  uint32_t slots;       // size of the slot table the stream needs
  uint64_t records;     // records after the header
  uint64_t reserved;
};
static_assert(sizeof(Header) == 32);

enum Kind : uint8_t {
  kMalloc = 1,       // slot = malloc(size)
  kCalloc = 2,       // slot = calloc(1, size)
  kAligned = 3,      // posix_memalign(&slot, 1 << align_log2, size)
  kReallocFrom = 4,  // the next kRealloc reallocates this slot
  kRealloc = 5,      // slot = realloc(from, size)
  kFree = 6,         // free(slot)
  kSample = 7,       // size = seq; slot = sample kind (replay_result.h SampleKind)
  kData = 8,         // size = a value belonging to the previous record
};

struct Record {
  uint8_t kind;
  uint8_t align_log2;
  uint16_t thread;
  uint32_t slot;
  uint64_t size;
};
static_assert(sizeof(Record) == 16);

}  // namespace atr::replay::ops

#endif  // ATR_REPLAYER_OP_STREAM_H_
