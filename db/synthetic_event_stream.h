// A deterministic heap event stream shaped like a real program's, for the
// event chunk codec's tests and benchmark: a few threads allocating and
// freeing through call sites that each have their own sizes, lifetimes,
// stack and stack depth; addresses handed out per thread from glibc-like
// arenas with LIFO reuse of freed blocks; sized C++ deletes, callocs,
// reallocs (both halves), rare failed allocations; timestamps from a few
// CPUs' clocks. free_after is filled as the trace writer fills it.
// Not a model of one program: its purpose is values with the magnitudes and
// correlations the codec's transforms rely on, from a fixed seed.
//
//   atr::EventColumns c = atr::MakeSyntheticHeapStream({.events = 1 << 16});
#ifndef ATR_DB_SYNTHETIC_EVENT_STREAM_H_
#define ATR_DB_SYNTHETIC_EVENT_STREAM_H_

#include <cstddef>
#include <cstdint>

#include "db/event_columns.h"

namespace atr {

struct SyntheticStreamOptions {
  size_t events = 1 << 16;  // exactly this many rows
  int threads = 4;          // threads.id 1..threads
  int sites = 400;          // allocation call sites
  uint64_t seed = 1;
  int64_t first_seq = 1;
};

// The first `options.events` events of the stream; seqs are consecutive.
EventColumns MakeSyntheticHeapStream(const SyntheticStreamOptions& options);

}  // namespace atr

#endif  // ATR_DB_SYNTHETIC_EVENT_STREAM_H_
