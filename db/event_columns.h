// EventColumns: a run of trace events held column by column, the unit the
// event chunk codec (db/event_chunk_encoder.h, db/event_chunk_decoder.h)
// encodes and decodes. Every column has one entry per event, row i of each
// column describing the same event; the meaning of each column is the
// event_log column of the same name (docs/trace-format.md), with 0 where SQL
// has NULL (stack, free_after).
//
// Invariants of a chunk (CheckChunkColumns): 1 <= size() <= kMaxChunkEvents,
// all columns the same length, seq strictly increasing. Nothing else is
// assumed: ts_ns may go backwards, addr/size/arg take any 64-bit value.
//
//   atr::EventColumns c;
//   c.Resize(2);
//   c.seq = {1, 2}; ...
//   if (absl::Status s = atr::CheckChunkColumns(c); !s.ok()) ...
#ifndef ATR_DB_EVENT_COLUMNS_H_
#define ATR_DB_EVENT_COLUMNS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace atr {

// Most events one chunk may hold. Bounds what a decoder allocates for a blob
// it has not verified yet (about 140 bytes per event, so ~150 MB).
inline constexpr size_t kMaxChunkEvents = size_t{1} << 20;

struct EventColumns {
  std::vector<int64_t> seq;         // global order; strictly increasing, gaps allowed
  std::vector<int64_t> ts_ns;       // ns since the trace's start; not ordered
  std::vector<int64_t> thread;      // threads.id
  std::vector<uint8_t> op;          // db/ops.h code
  std::vector<uint64_t> addr;       // 0 = none / failed
  std::vector<uint64_t> size;       // bytes; UINT64_MAX and 0 are ordinary values
  std::vector<uint64_t> arg;        // per-op extra (alignment, old pointer, ...)
  std::vector<int64_t> stack;       // leaf stacks.id; 0 = not recorded
  std::vector<uint32_t> sp_depth;   // bytes from stack top to SP; 0 = unknown
  std::vector<int64_t> free_after;  // allocation rows: seqs to their release; 0 = none

  size_t size_rows() const { return seq.size(); }
  // Sets every column to n rows (new rows zero).
  void Resize(size_t n);
  void Clear() { Resize(0); }
  // Replaces every column with rows [first, first + count) of `from`.
  // REQUIRES: first + count <= from.size_rows(); &from != this.
  void AssignRows(const EventColumns& from, size_t first, size_t count);

  friend bool operator==(const EventColumns&, const EventColumns&) = default;
};

// OK when `c` may be encoded as one chunk (the invariants above); otherwise
// one line naming the first violation, e.g. "seq not increasing at row 7
// (12 after 12)".
absl::Status CheckChunkColumns(const EventColumns& c);

}  // namespace atr

#endif  // ATR_DB_EVENT_COLUMNS_H_
