// The codec of CompactEventRecord (recorder/spool_format.h), shared by the
// writer (the preload library: EncodeCompact into its thread buffer) and the
// readers (SpoolFileReader, and the preload's own flusher, which needs the
// DeltaBase at a record boundary: ApplyRecord over the records before it).
//
//   spool::DeltaBase b = {};                  // at a chunk's start
//   uint32_t n = spool::EncodeCompact(b, e, out);
//   if (n == 0) { /* write e as an EventRecord */ spool::Advance(b, e); }
//   ...
//   spool::DeltaBase d = {};                  // reading the chunk
//   spool::EventRecord ev;
//   for each record r: if (spool::ApplyRecord(d, r, &ev)) Use(ev);
//
// Header-only, no libc heap: the preload library uses it in its hooks.
// REQUIRES for the decoding side: records validated (CompactRecordBytes).
#ifndef ATR_RECORDER_SPOOL_COMPACT_H_
#define ATR_RECORDER_SPOOL_COMPACT_H_

#include <cstdint>
#include <cstring>

#include "db/ops.h"
#include "recorder/spool_format.h"

namespace atr::spool {

inline bool IsFunctionOp(uint8_t op) {
  return op == static_cast<uint8_t>(Op::kFuncEnter) || op == static_cast<uint8_t>(Op::kFuncExit);
}

// The ops the writer encodes compact: the ones a busy program records
// millions of times. Everything else stays a 56-byte EventRecord.
inline bool IsCompactOp(uint8_t op) {
  return (op >= static_cast<uint8_t>(Op::kMalloc) &&
          op <= static_cast<uint8_t>(Op::kReallocRelease)) ||
         (op >= static_cast<uint8_t>(Op::kNew) &&
          op <= static_cast<uint8_t>(Op::kDeleteArrayAlignedNothrow)) ||
         IsFunctionOp(op);
}

// Moves the base past an event (either form).
inline void Advance(DeltaBase& b, uint8_t op, uint64_t seq, uint64_t tsc, uint64_t addr) {
  b.seq = seq;
  b.tsc = tsc;
  (IsFunctionOp(op) ? b.fn : b.addr) = addr;
}
inline void Advance(DeltaBase& b, const EventRecord& e) {
  Advance(b, e.h.op, e.seq, e.tsc, e.addr);
}

namespace compact_internal {

// Stores v at p in the narrowest width; delta_base: what kWidthDelta32 is
// relative to (allow_delta false: never a delta).
inline uint32_t Put(uint8_t*& p, uint64_t v, uint64_t delta_base, bool allow_delta) {
  if (v == 0) return kWidthZero;
  if (allow_delta) {
    auto d = static_cast<int64_t>(v - delta_base);
    if (d >= INT32_MIN && d <= INT32_MAX) {
      auto d32 = static_cast<int32_t>(d);
      memcpy(p, &d32, 4);
      p += 4;
      return kWidthDelta32;
    }
  }
  if (v <= UINT32_MAX) {
    auto v32 = static_cast<uint32_t>(v);
    memcpy(p, &v32, 4);
    p += 4;
    return kWidth32;
  }
  memcpy(p, &v, 8);
  p += 8;
  return kWidth64;
}

inline uint64_t Get(const uint8_t*& p, uint32_t width, uint64_t delta_base) {
  switch (width & 3u) {
    case kWidth32: {
      uint32_t v;
      memcpy(&v, p, 4);
      p += 4;
      return v;
    }
    case kWidthDelta32: {
      int32_t d;
      memcpy(&d, p, 4);
      p += 4;
      return delta_base + static_cast<uint64_t>(static_cast<int64_t>(d));
    }
    case kWidth64: {
      uint64_t v;
      memcpy(&v, p, 8);
      p += 8;
      return v;
    }
    default:
      return 0;
  }
}

inline uint32_t WidthBytes(uint32_t width) {
  static constexpr uint8_t kBytes[4] = {0, 4, 4, 8};
  return kBytes[width & 3u];
}

}  // namespace compact_internal

// Writes e compact at out (kMaxCompactBytes writable) and advances b;
// returns the record's size, or 0 (b unchanged) when e must be written as
// an EventRecord: a rare op, a seq or tsc delta backwards or beyond 32 bits,
// sp_depth above kMaxCompactDepth.
// EncodeCompactFields takes the event's fields as values: the preload's hook
// has them in registers, and an EventRecord built only to be encoded was
// stored and read back as wider words (a store-forwarding stall per event).
// Always inlined into the hook for the same reason.
__attribute__((always_inline)) inline uint32_t EncodeCompactFields(
    DeltaBase& b, uint8_t op, uint32_t sp_depth, uint64_t seq, uint64_t tsc, uint64_t addr,
    uint64_t size, uint64_t arg, uint64_t stack, uint8_t* out) {
  using compact_internal::Put;
  uint64_t dseq = seq - b.seq, dtsc = tsc - b.tsc;
  if (!IsCompactOp(op) || seq < b.seq || dseq > UINT32_MAX || tsc < b.tsc ||
      dtsc > UINT32_MAX || sp_depth > kMaxCompactDepth) {
    return 0;
  }
  uint8_t* p = out + sizeof(CompactEventRecord);
  uint32_t fields = 0;
  if (stack != 0) {
    memcpy(p, &stack, 8);
    p += 8;
    fields |= kCompactHasStack;
  }
  uint64_t& addr_base = IsFunctionOp(op) ? b.fn : b.addr;
  fields |= Put(p, addr, addr_base, true) << kCompactAddrShift;
  fields |= Put(p, size, 0, false) << kCompactSizeShift;
  fields |= Put(p, arg, addr, true) << kCompactArgShift;
  auto bytes = static_cast<uint32_t>(p - out);
  uint32_t padded = RoundUp8(bytes);
  // Every part is 4 or 8 bytes, so the padding is 0 or 4 bytes: one fixed
  // store instead of a variable-length memset (a libc call in the hook).
  static_assert(sizeof(CompactEventRecord) % 4 == 0);
  if (padded != bytes) {
    uint32_t zero = 0;
    memcpy(p, &zero, 4);
  }
  CompactEventRecord c;
  c.h = {static_cast<RecordType>(kCompactEventType), op, static_cast<uint16_t>(padded)};
  c.depth_fields = sp_depth << 8 | fields;
  c.seq_delta = static_cast<uint32_t>(dseq);
  c.tsc_delta = static_cast<uint32_t>(dtsc);
  memcpy(out, &c, sizeof(c));
  Advance(b, op, seq, tsc, addr);
  return padded;
}
inline uint32_t EncodeCompact(DeltaBase& b, const EventRecord& e, uint8_t* out) {
  return EncodeCompactFields(b, e.h.op, e.sp_depth, e.seq, e.tsc, e.addr, e.size, e.arg, e.stack,
                             out);
}

// The size a compact record with these header bits must have, or 0 if the
// bits are invalid (bit 7 set, a delta-coded size).
inline uint32_t CompactRecordBytes(uint32_t depth_fields) {
  using compact_internal::WidthBytes;
  uint32_t f = depth_fields & 0xFFu;
  uint32_t size_width = (f >> kCompactSizeShift) & 3u;
  if ((f & 0x80u) != 0 || size_width == kWidthDelta32) return 0;
  uint32_t n = sizeof(CompactEventRecord) + ((f & kCompactHasStack) ? 8u : 0u) +
               WidthBytes(f >> kCompactAddrShift) + WidthBytes(size_width) +
               WidthBytes(f >> kCompactArgShift);
  return RoundUp8(n);
}

// Decodes a compact record (validated) and advances b.
inline EventRecord DecodeCompact(DeltaBase& b, const uint8_t* rec) {
  using compact_internal::Get;
  CompactEventRecord c;
  memcpy(&c, rec, sizeof(c));
  uint32_t f = c.depth_fields & 0xFFu;
  const uint8_t* p = rec + sizeof(c);
  EventRecord e;
  e.h = {RecordType::kEvent, c.h.op, sizeof(EventRecord)};
  e.sp_depth = c.depth_fields >> 8;
  e.seq = b.seq + c.seq_delta;
  e.tsc = b.tsc + c.tsc_delta;
  e.stack = 0;
  if (f & kCompactHasStack) {
    memcpy(&e.stack, p, 8);
    p += 8;
  }
  e.addr = Get(p, f >> kCompactAddrShift, IsFunctionOp(c.h.op) ? b.fn : b.addr);
  e.size = Get(p, f >> kCompactSizeShift, 0);
  e.arg = Get(p, f >> kCompactArgShift, e.addr);
  Advance(b, e);
  return e;
}

// Moves b past one record of a chunk (validated). Returns true, with the
// event in *out, for an event record of either form; a DeltaBaseRecord
// sets b; other records leave it alone.
inline bool ApplyRecord(DeltaBase& b, const uint8_t* rec, EventRecord* out) {
  RecordHeader h;
  memcpy(&h, rec, sizeof(h));
  auto type = static_cast<uint8_t>(h.type);
  if (type == kCompactEventType) {
    *out = DecodeCompact(b, rec);
    return true;
  }
  if (h.type == RecordType::kEvent) {
    memcpy(out, rec, sizeof(EventRecord));
    Advance(b, *out);
    return true;
  }
  if (type == kDeltaBaseType) {
    DeltaBaseRecord d;
    memcpy(&d, rec, sizeof(d));
    b = d.base;
  }
  return false;
}

}  // namespace atr::spool

#endif  // ATR_RECORDER_SPOOL_COMPACT_H_
