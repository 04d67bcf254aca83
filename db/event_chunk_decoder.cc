#include "db/event_chunk_decoder.h"

#include <zstd.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "db/byte_planes.h"

namespace atr {
namespace {

// The decoding side of WalkPredictedColumns: residuals in, true values out,
// in place (row i's residual is read before row i is written).
struct ValueRestorer {
  EventColumns& out;
  uint64_t* sp_depth;  // widened: checked against 32 bits after the walk

  uint64_t Addr(size_t i, uint64_t p) {
    return out.addr[i] = FromPredictionResidual(out.addr[i], p);
  }
  uint64_t Size(size_t i, uint64_t p) {
    return out.size[i] = FromPredictionResidual(out.size[i], p);
  }
  uint64_t Arg(size_t i, uint64_t p) { return out.arg[i] = FromPredictionResidual(out.arg[i], p); }
  uint64_t Stack(size_t i, uint64_t p) {
    const uint64_t v = FromHitOrLiteral(static_cast<uint64_t>(out.stack[i]), p);
    out.stack[i] = static_cast<int64_t>(v);
    return v;
  }
  uint64_t SpDepth(size_t i, uint64_t p) { return sp_depth[i] = FromHitOrLiteral(sp_depth[i], p); }
};

// A 64-bit column's storage as the residuals decoded into it. uint64_t may
// alias int64_t (same type but for signedness).
template <typename T>
absl::Span<uint64_t> AsResiduals(std::vector<T>& column) {
  static_assert(sizeof(T) == sizeof(uint64_t));
  return absl::MakeSpan(reinterpret_cast<uint64_t*>(column.data()), column.size());
}

absl::Status Corrupt(const char* column, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("column ", column, ": ", what));
}

absl::Status InColumn(const char* column, const absl::Status& s) {
  return absl::DataLossError(absl::StrCat("column ", column, ": ", s.message()));
}

}  // namespace

EventChunkDecoder::EventChunkDecoder() : dctx_(ZSTD_createDCtx()) {}

EventChunkDecoder::~EventChunkDecoder() { ZSTD_freeDCtx(dctx_); }

absl::Status EventChunkDecoder::ReadSection(ChunkByteReader& reader, ChunkColumn column,
                                            absl::Span<uint64_t> residuals,
                                            SectionBytes* section_bytes) {
  const char* name = ChunkColumnName(column);
  const size_t start = reader.remaining();
  const uint64_t n = residuals.size();
  uint8_t width = 0, storage = 0;
  uint64_t exceptions = 0, payload_size = 0;
  absl::Status s;
  if (s = reader.ReadByte("byte width", &width); !s.ok()) return InColumn(name, s);
  if (s = reader.ReadVarint("exception count", &exceptions); !s.ok()) return InColumn(name, s);
  if (s = reader.ReadByte("storage", &storage); !s.ok()) return InColumn(name, s);
  if (s = reader.ReadVarint("payload size", &payload_size); !s.ok()) return InColumn(name, s);
  const PlaneLayout layout{width, exceptions};
  if (s = CheckPlaneLayout(layout, n); !s.ok()) return InColumn(name, s);
  // Checked before anything is allocated for it.
  if (payload_size > MaxPlanePayload(layout, n)) {
    return Corrupt(
        name, absl::StrCat("payload of ", payload_size, " bytes is more than ", n, " values of ",
                           width, " bytes and ", exceptions, " exceptions can take"));
  }
  std::string_view payload;
  if (storage == static_cast<uint8_t>(SectionStorage::kRaw)) {
    if (s = reader.ReadBytes("payload", payload_size, &payload); !s.ok()) return InColumn(name, s);
  } else if (storage == static_cast<uint8_t>(SectionStorage::kZstd)) {
    uint64_t frame_size = 0;
    std::string_view frame;
    if (s = reader.ReadVarint("zstd frame size", &frame_size); !s.ok()) return InColumn(name, s);
    if (s = reader.ReadBytes("zstd frame", frame_size, &frame); !s.ok()) return InColumn(name, s);
    if (payload_size > payload_capacity_) {
      payload_.reset(new char[payload_size]);
      payload_capacity_ = payload_size;
    }
    const size_t got =
        ZSTD_decompressDCtx(dctx_, payload_.get(), payload_size, frame.data(), frame.size());
    if (ZSTD_isError(got)) {
      return Corrupt(name, absl::StrCat("zstd: ", ZSTD_getErrorName(got)));
    }
    if (got != payload_size) {
      return Corrupt(
          name, absl::StrCat("zstd frame holds ", got, " bytes, the section says ", payload_size));
    }
    payload = std::string_view(payload_.get(), payload_size);
  } else {
    return Corrupt(name, absl::StrCat("unknown storage ", static_cast<int>(storage)));
  }
  if (s = UnpackBytePlanes(payload, layout, residuals); !s.ok()) {
    return InColumn(name, s);
  }
  if (section_bytes != nullptr)
    (*section_bytes)[static_cast<int>(column)] += start - reader.remaining();
  return absl::OkStatus();
}

absl::Status EventChunkDecoder::Decode(std::string_view blob, EventColumns* out,
                                       SectionBytes* section_bytes) {
  ChunkByteReader reader(blob);
  absl::Status s;
  uint8_t version = 0;
  if (s = reader.ReadByte("codec version", &version); !s.ok()) return s;
  if (version != kEventChunkCodecVersion) {
    return absl::DataLossError(absl::StrCat("unknown event chunk codec version ",
                                            static_cast<int>(version), " (this atr reads version ",
                                            kEventChunkCodecVersion, ")"));
  }
  uint64_t n = 0, thread_count = 0;
  if (s = reader.ReadVarint("event count", &n); !s.ok()) return s;
  if (n == 0 || n > kMaxChunkEvents) {
    return absl::DataLossError(absl::StrCat("event count ", n, " is outside 1..", kMaxChunkEvents));
  }
  if (s = reader.ReadVarint("thread count", &thread_count); !s.ok()) return s;
  if (thread_count == 0 || thread_count > n) {
    return absl::DataLossError(
        absl::StrCat("thread count ", thread_count, " is outside 1..", n, " (the event count)"));
  }
  threads_.resize(thread_count);
  for (uint64_t t = 0; t < thread_count; ++t) {
    uint64_t v = 0;
    if (s = reader.ReadVarint("thread dictionary", &v); !s.ok()) return s;
    if (t == 0) {
      threads_[0] = UnZigZag(v);
      continue;
    }
    // Ascending and distinct: each entry is the previous + 1 + v.
    const __int128 next = static_cast<__int128>(threads_[t - 1]) + 1 + v;
    if (next > std::numeric_limits<int64_t>::max()) {
      return absl::DataLossError(absl::StrCat("thread dictionary entry ", t, " passes 2^63"));
    }
    threads_[t] = static_cast<int64_t>(next);
  }
  uint64_t base_seq = 0, base_ts = 0;
  if (s = reader.ReadVarint("base seq", &base_seq); !s.ok()) return s;
  if (s = reader.ReadVarint("base ts_ns", &base_ts); !s.ok()) return s;

  out->Resize(n);
  residuals_.resize(n);
  thread_index_.resize(n);

  // seq: base + gaps, each seq at least one more than the one before.
  if (s = ReadSection(reader, ChunkColumn::kSeq, AsResiduals(out->seq), section_bytes); !s.ok())
    return s;
  __int128 seq = static_cast<__int128>(UnZigZag(base_seq)) - 1;
  for (uint64_t i = 0; i < n; ++i) {
    seq += 1 + static_cast<__int128>(static_cast<uint64_t>(out->seq[i]));
    if (seq > std::numeric_limits<int64_t>::max()) {
      return absl::DataLossError(absl::StrCat("column seq: passes 2^63 at row ", i));
    }
    out->seq[i] = static_cast<int64_t>(seq);
  }
  // ts_ns: base + zig-zag deltas, 64-bit wrapping like the encoder's.
  if (s = ReadSection(reader, ChunkColumn::kTs, AsResiduals(out->ts_ns), section_bytes); !s.ok())
    return s;
  uint64_t ts = static_cast<uint64_t>(UnZigZag(base_ts));
  for (uint64_t i = 0; i < n; ++i) {
    ts += static_cast<uint64_t>(UnZigZag(static_cast<uint64_t>(out->ts_ns[i])));
    out->ts_ns[i] = static_cast<int64_t>(ts);
  }
  // thread: dictionary indexes.
  if (s = ReadSection(reader, ChunkColumn::kThread, absl::MakeSpan(residuals_), section_bytes);
      !s.ok())
    return s;
  for (uint64_t i = 0; i < n; ++i) {
    if (residuals_[i] >= thread_count) {
      return absl::DataLossError(absl::StrCat("column thread: row ", i, " names thread ",
                                              residuals_[i], " of a dictionary of ", thread_count));
    }
    thread_index_[i] = static_cast<uint32_t>(residuals_[i]);
    out->thread[i] = threads_[residuals_[i]];
  }
  // op: bytes.
  if (s = ReadSection(reader, ChunkColumn::kOp, absl::MakeSpan(residuals_), section_bytes); !s.ok())
    return s;
  for (uint64_t i = 0; i < n; ++i) {
    if (residuals_[i] > 0xff) {
      return absl::DataLossError(
          absl::StrCat("column op: row ", i, " holds ", residuals_[i], ", not a byte"));
    }
    out->op[i] = static_cast<uint8_t>(residuals_[i]);
  }
  // addr, size, arg, stack, sp_depth: residuals now, values after the
  // prediction walk (which needs free_after, the last section).
  if (s = ReadSection(reader, ChunkColumn::kAddr, absl::MakeSpan(out->addr), section_bytes);
      !s.ok())
    return s;
  if (s = ReadSection(reader, ChunkColumn::kSize, absl::MakeSpan(out->size), section_bytes);
      !s.ok())
    return s;
  if (s = ReadSection(reader, ChunkColumn::kArg, absl::MakeSpan(out->arg), section_bytes); !s.ok())
    return s;
  if (s = ReadSection(reader, ChunkColumn::kStack, AsResiduals(out->stack), section_bytes); !s.ok())
    return s;
  if (s = ReadSection(reader, ChunkColumn::kSpDepth, absl::MakeSpan(residuals_), section_bytes);
      !s.ok()) {
    return s;
  }
  if (s = ReadSection(reader, ChunkColumn::kFreeAfter, AsResiduals(out->free_after), section_bytes);
      !s.ok()) {
    return s;
  }
  if (!reader.AtEnd()) {
    return absl::DataLossError(absl::StrCat(reader.remaining(), " bytes follow the last column"));
  }

  ValueRestorer restorer{*out, residuals_.data()};
  const PredictionInputs inputs{.seq = out->seq,
                                .op = out->op,
                                .thread_index = thread_index_,
                                .free_after = out->free_after,
                                .thread_count = static_cast<uint32_t>(thread_count)};
  WalkPredictedColumns(inputs, &prediction_, restorer);
  for (uint64_t i = 0; i < n; ++i) {
    if (residuals_[i] > std::numeric_limits<uint32_t>::max()) {
      return absl::DataLossError(absl::StrCat("column sp_depth: row ", i, " holds ", residuals_[i],
                                              ", more than 32 bits"));
    }
    out->sp_depth[i] = static_cast<uint32_t>(residuals_[i]);
  }
  return absl::OkStatus();
}

}  // namespace atr
