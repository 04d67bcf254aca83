#include "db/event_chunk_encoder.h"

#include <zstd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "db/chunk_bytes.h"

namespace atr {
namespace {

// The encoding side of WalkPredictedColumns: true values in, residuals out.
struct ResidualWriter {
  const EventColumns& in;
  uint64_t* addr;
  uint64_t* size;
  uint64_t* arg;
  uint64_t* stack;
  uint64_t* sp_depth;

  uint64_t Addr(size_t i, uint64_t p) {
    addr[i] = PredictionResidual(in.addr[i], p);
    return in.addr[i];
  }
  uint64_t Size(size_t i, uint64_t p) {
    size[i] = PredictionResidual(in.size[i], p);
    return in.size[i];
  }
  uint64_t Arg(size_t i, uint64_t p) {
    arg[i] = PredictionResidual(in.arg[i], p);
    return in.arg[i];
  }
  uint64_t Stack(size_t i, uint64_t p) {
    const auto v = static_cast<uint64_t>(in.stack[i]);
    stack[i] = HitOrLiteral(v, p);
    return v;
  }
  uint64_t SpDepth(size_t i, uint64_t p) {
    sp_depth[i] = HitOrLiteral(in.sp_depth[i], p);
    return in.sp_depth[i];
  }
};

// Residuals of a column stored as it is (bit pattern of the value).
template <typename T>
void CopyAsResiduals(const std::vector<T>& values, std::vector<uint64_t>* out) {
  out->resize(values.size());
  std::transform(values.begin(), values.end(), out->begin(),
                 [](T v) { return static_cast<uint64_t>(v); });
}

}  // namespace

EventChunkEncoder::EventChunkEncoder(int zstd_level) : cctx_(ZSTD_createCCtx()) {
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, zstd_level);
  // A 4-byte checksum per frame: a damaged chunk is an error, not wrong events.
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
}

EventChunkEncoder::~EventChunkEncoder() { ZSTD_freeCCtx(cctx_); }

absl::Status EventChunkEncoder::AppendSection(ChunkColumn column,
                                              absl::Span<const uint64_t> residuals,
                                              std::string* blob) {
  payload_.clear();
  const PlaneLayout layout = PackBytePlanes(residuals, &payload_);
  blob->push_back(static_cast<char>(layout.width));
  PutVarint(blob, layout.exceptions);
  if (payload_.size() >= kMinCompressedPayload) {
    frame_.resize(ZSTD_compressBound(payload_.size()));
    const size_t frame_size =
        ZSTD_compress2(cctx_, frame_.data(), frame_.size(), payload_.data(), payload_.size());
    if (ZSTD_isError(frame_size)) {
      return absl::InternalError(absl::StrCat("event chunk: zstd failed on column ",
                                              ChunkColumnName(column), ": ",
                                              ZSTD_getErrorName(frame_size)));
    }
    if (frame_size < payload_.size()) {
      blob->push_back(static_cast<char>(SectionStorage::kZstd));
      PutVarint(blob, payload_.size());
      PutVarint(blob, frame_size);
      blob->append(frame_.data(), frame_size);
      return absl::OkStatus();
    }
  }
  blob->push_back(static_cast<char>(SectionStorage::kRaw));
  PutVarint(blob, payload_.size());
  blob->append(payload_);
  return absl::OkStatus();
}

absl::Status EventChunkEncoder::Encode(const EventColumns& c, std::string* blob,
                                       ChunkZoneMap* zone) {
  if (absl::Status s = CheckChunkColumns(c); !s.ok()) return s;
  const size_t n = c.seq.size();
  ChunkZoneMap z = ComputeZoneMap(c);
  const std::vector<int64_t>& threads = z.threads;  // the dictionary, ascending

  std::string& out = *blob;
  out.clear();
  out.push_back(static_cast<char>(kEventChunkCodecVersion));
  PutVarint(&out, n);
  PutVarint(&out, threads.size());
  PutVarint(&out, ZigZag(threads[0]));
  for (size_t t = 1; t < threads.size(); ++t) {
    PutVarint(&out, static_cast<uint64_t>(threads[t]) - static_cast<uint64_t>(threads[t - 1]) - 1);
  }
  PutVarint(&out, ZigZag(c.seq[0]));
  PutVarint(&out, ZigZag(c.ts_ns[0]));

  auto section = [&](ChunkColumn column, const std::vector<uint64_t>& r) {
    return AppendSection(column, r, &out);
  };
  absl::Status s;
  // seq: gaps (seq[i] - seq[i-1] - 1; row 0 is the base).
  residuals_.resize(n);
  residuals_[0] = 0;
  for (size_t i = 1; i < n; ++i) {
    residuals_[i] = static_cast<uint64_t>(c.seq[i]) - static_cast<uint64_t>(c.seq[i - 1]) - 1;
  }
  if (s = section(ChunkColumn::kSeq, residuals_); !s.ok()) return s;
  // ts_ns: zig-zag deltas (clocks of different CPUs may step back a little).
  residuals_[0] = 0;
  for (size_t i = 1; i < n; ++i) {
    residuals_[i] = ZigZag(static_cast<int64_t>(static_cast<uint64_t>(c.ts_ns[i]) -
                                                static_cast<uint64_t>(c.ts_ns[i - 1])));
  }
  if (s = section(ChunkColumn::kTs, residuals_); !s.ok()) return s;
  // thread: index into the dictionary; runs of one thread hit the cache.
  thread_index_.resize(n);
  uint32_t index = 0;
  for (size_t i = 0; i < n; ++i) {
    if (threads[index] != c.thread[i]) {
      index = static_cast<uint32_t>(std::lower_bound(threads.begin(), threads.end(), c.thread[i]) -
                                    threads.begin());
    }
    thread_index_[i] = index;
    residuals_[i] = index;
  }
  if (s = section(ChunkColumn::kThread, residuals_); !s.ok()) return s;
  CopyAsResiduals(c.op, &residuals_);
  if (s = section(ChunkColumn::kOp, residuals_); !s.ok()) return s;

  for (std::vector<uint64_t>* r : {&addr_residuals_, &size_residuals_, &arg_residuals_,
                                   &stack_residuals_, &sp_depth_residuals_}) {
    r->resize(n);
  }
  ResidualWriter writer{c,
                        addr_residuals_.data(),
                        size_residuals_.data(),
                        arg_residuals_.data(),
                        stack_residuals_.data(),
                        sp_depth_residuals_.data()};
  const PredictionInputs inputs{.seq = c.seq,
                                .op = c.op,
                                .thread_index = thread_index_,
                                .free_after = c.free_after,
                                .thread_count = static_cast<uint32_t>(threads.size())};
  WalkPredictedColumns(inputs, &prediction_, writer);
  if (s = section(ChunkColumn::kAddr, addr_residuals_); !s.ok()) return s;
  if (s = section(ChunkColumn::kSize, size_residuals_); !s.ok()) return s;
  if (s = section(ChunkColumn::kArg, arg_residuals_); !s.ok()) return s;

  if (s = section(ChunkColumn::kStack, stack_residuals_); !s.ok()) return s;
  if (s = section(ChunkColumn::kSpDepth, sp_depth_residuals_); !s.ok()) return s;
  CopyAsResiduals(c.free_after, &residuals_);
  if (s = section(ChunkColumn::kFreeAfter, residuals_); !s.ok()) return s;

  *zone = std::move(z);
  return absl::OkStatus();
}

}  // namespace atr
