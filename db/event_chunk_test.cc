// Round trips of the event chunk codec against the columns it was given,
// and its zone maps against a reference computed here.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>

#include "db/chunk_zone_map.h"
#include "db/event_chunk_decoder.h"
#include "db/event_chunk_encoder.h"
#include "db/event_chunk_format.h"
#include "db/event_chunk_prediction.h"
#include "db/event_columns.h"
#include "db/ops.h"
#include "db/synthetic_event_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

// The zone map by its definition, one field at a time.
ChunkZoneMap ReferenceZoneMap(const EventColumns& c) {
  ChunkZoneMap z;
  z.first_seq = c.seq.front();
  z.last_seq = c.seq.back();
  z.n = static_cast<uint32_t>(c.seq.size());
  z.min_ts_ns = *std::min_element(c.ts_ns.begin(), c.ts_ns.end());
  z.max_ts_ns = *std::max_element(c.ts_ns.begin(), c.ts_ns.end());
  std::set<uint64_t> addrs(c.addr.begin(), c.addr.end());
  addrs.erase(0);
  if (!addrs.empty()) {
    z.min_addr = *addrs.begin();
    z.max_addr = *addrs.rbegin();
  }
  for (int code = 0; code < 256; ++code) {
    if (std::count(c.op.begin(), c.op.end(), code) != 0) z.ops.Add(static_cast<uint8_t>(code));
  }
  std::set<int64_t> threads(c.thread.begin(), c.thread.end());
  z.threads.assign(threads.begin(), threads.end());
  return z;
}

// Encodes, decodes, and checks both the columns and the zone map; returns
// the blob's size.
size_t ExpectRoundTrip(const EventColumns& c) {
  EventChunkEncoder encoder;
  EventChunkDecoder decoder;
  std::string blob;
  ChunkZoneMap zone;
  absl::Status s = encoder.Encode(c, &blob, &zone);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(zone, ReferenceZoneMap(c));
  EventColumns back;
  s = decoder.Decode(blob, &back);
  EXPECT_TRUE(s.ok()) << s;
  // Column by column first, so a failure names the column.
  EXPECT_EQ(back.seq, c.seq);
  EXPECT_EQ(back.ts_ns, c.ts_ns);
  EXPECT_EQ(back.thread, c.thread);
  EXPECT_EQ(back.op, c.op);
  EXPECT_EQ(back.addr, c.addr);
  EXPECT_EQ(back.size, c.size);
  EXPECT_EQ(back.arg, c.arg);
  EXPECT_EQ(back.stack, c.stack);
  EXPECT_EQ(back.sp_depth, c.sp_depth);
  EXPECT_EQ(back.free_after, c.free_after);
  return blob.size();
}

// A value drawn to hit every encoding path: 0, all ones, >= 2^63, small,
// medium and any 64 bits.
uint64_t Extreme(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return 0;
    case 1:
      return kMax64;
    case 2:
      return (uint64_t{1} << 63) | rng();
    case 3:
      return rng() % 256;
    case 4:
      return rng() % 100000;
    case 5:
      return 0x7f00'0000'0000ull + rng() % (1 << 30);
    default:
      return rng();
  }
}

struct StreamShape {
  size_t n;
  int threads;
  uint64_t seed;
};

// Events with random everything, seq gaps and ts steps back included;
// free_after links about a third of the rows to a later row of the chunk
// and gives others distances past it, or nonsense.
EventColumns RandomStream(const StreamShape& shape) {
  std::mt19937_64 rng(shape.seed);
  EventColumns c;
  c.Resize(shape.n);
  int64_t seq = static_cast<int64_t>(rng() % 1'000'000'000) - 500'000'000;
  uint64_t ts = rng();  // unsigned: it wraps at will
  for (size_t i = 0; i < shape.n; ++i) {
    seq += 1 + (rng() % 5 == 0 ? static_cast<int64_t>(rng() % (rng() % 2 ? 3 : 1'000'000)) : 0);
    ts += (rng() % 4 == 0 ? rng() : rng() % 1000) - 200;
    c.seq[i] = seq;
    c.ts_ns[i] = static_cast<int64_t>(ts);
    c.thread[i] = shape.threads > 1 && rng() % 3 == 0
                      ? static_cast<int64_t>(rng() % shape.threads) * 7 - 3
                      : 1;
    c.op[i] = rng() % 10 == 0 ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>(1 + rng() % 81);
    c.addr[i] = Extreme(rng);
    c.size[i] = Extreme(rng);
    c.arg[i] = Extreme(rng);
    c.stack[i] = static_cast<int64_t>(rng() % 3 == 0 ? Extreme(rng) : rng() % 5000);
    c.sp_depth[i] = static_cast<uint32_t>(rng() % 3 == 0 ? Extreme(rng) : rng() % 9000);
  }
  for (size_t i = 0; i < shape.n; ++i) {
    switch (rng() % 6) {
      case 0:
      case 1:
        if (i + 1 < shape.n) c.free_after[i] = c.seq[i + 1 + rng() % (shape.n - i - 1)] - c.seq[i];
        break;
      case 2:
        c.free_after[i] = static_cast<int64_t>(rng() % 10'000'000);
        break;
      case 3:
        c.free_after[i] = static_cast<int64_t>(Extreme(rng));
        break;
      default:
        break;
    }
  }
  return c;
}

TEST(EventChunkTest, RoundTripsRandomStreamsWithExtremeValues) {
  const StreamShape shapes[] = {{1, 1, 1},    {2, 2, 2},     {17, 3, 3},      {300, 1, 4},
                                {1000, 8, 5}, {4096, 40, 6}, {5000, 3000, 7}, {65536, 5, 8}};
  for (const StreamShape& shape : shapes) {
    SCOPED_TRACE(testing::Message() << "n=" << shape.n << " threads=" << shape.threads);
    ExpectRoundTrip(RandomStream(shape));
  }
}

// Both residual codes are bijections on 64 bits, for any guess.
TEST(EventChunkTest, ResidualCodesInvertForEveryGuess) {
  const uint64_t values[] = {0, 1, 2, 1000, uint64_t{1} << 63, kMax64 - 1, kMax64};
  for (uint64_t guess : values) {
    for (uint64_t v : values) {
      EXPECT_EQ(FromPredictionResidual(PredictionResidual(v, guess), guess), v);
      EXPECT_EQ(FromHitOrLiteral(HitOrLiteral(v, guess), guess), v);
    }
    EXPECT_EQ(HitOrLiteral(guess, guess), 0u);
    EXPECT_EQ(PredictionResidual(guess, guess), 0u);
  }
  EXPECT_EQ(PredictionResidual(0x1000, 0x1010), 31u);  // zz(-16)
}

TEST(EventChunkTest, RoundTripsOneEvent) {
  EventColumns c;
  c.Resize(1);
  c.seq[0] = 42;
  c.ts_ns[0] = -5;
  c.thread[0] = 9;
  c.op[0] = static_cast<uint8_t>(Op::kMalloc);
  c.addr[0] = 0xffff'8000'0000'1000ull;
  c.size[0] = kMax64;
  c.arg[0] = kMax64;
  c.stack[0] = 77;
  c.sp_depth[0] = std::numeric_limits<uint32_t>::max();
  c.free_after[0] = 3;
  ExpectRoundTrip(c);
}

TEST(EventChunkTest, RoundTripsSeqsAtBothEndsOfInt64) {
  EventColumns c;
  c.Resize(3);
  c.seq = {std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()};
  c.thread = {std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()};
  c.ts_ns = {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(), 0};
  c.free_after = {std::numeric_limits<int64_t>::max(), 1, std::numeric_limits<int64_t>::min()};
  ExpectRoundTrip(c);
}

// Every shape a realloc takes in a trace (docs/trace-format.md, "Ordering"),
// on two interleaved threads, with the pairing the writer would store.
TEST(EventChunkTest, RoundTripsEveryReallocForm) {
  EventColumns c;
  auto add = [&](int64_t thread, Op op, uint64_t addr, uint64_t size, uint64_t arg) {
    c.seq.push_back(c.seq.empty() ? 100 : c.seq.back() + 1);
    c.ts_ns.push_back(static_cast<int64_t>(c.seq.size()) * 50);
    c.thread.push_back(thread);
    c.op.push_back(static_cast<uint8_t>(op));
    c.addr.push_back(addr);
    c.size.push_back(size);
    c.arg.push_back(arg);
    c.stack.push_back(5);
    c.sp_depth.push_back(800);
    c.free_after.push_back(0);
    return c.seq.size() - 1;
  };
  auto pair = [&](size_t alloc, size_t release) {
    c.free_after[alloc] = c.seq[release] - c.seq[alloc];
  };
  const uint64_t p = 0x5555'5560'1000, q = 0x5555'5560'2000, r = 0x7f12'3456'7890;
  const size_t a = add(1, Op::kMalloc, p, 24, 0);
  add(2, Op::kMalloc, r, 8, 0);
  // Moves: release p, acquire q with arg = p.
  const size_t rel_a = add(1, Op::kReallocRelease, p, 0, 0);
  pair(a, rel_a);
  const size_t b = add(1, Op::kRealloc, q, 100, p);
  // Grows in place.
  const size_t rel_b = add(1, Op::kReallocRelease, q, 0, 0);
  pair(b, rel_b);
  const size_t b2 = add(1, Op::kReallocArray, q, 200, q);
  // Fails: the old block stays live (addr 0, size > 0), unpaired release.
  add(1, Op::kReallocRelease, q, 0, 0);
  add(1, Op::kRealloc, 0, kMax64, q);
  // realloc(NULL, n): a release of 0, then an acquisition.
  add(2, Op::kReallocRelease, 0, 0, 0);
  const size_t c2 = add(2, Op::kRealloc, r + 64, 16, 0);
  // realloc(p, 0) returning 0 frees p.
  const size_t rel_b2 = add(1, Op::kReallocRelease, q, 0, 0);
  pair(b2, rel_b2);
  add(1, Op::kRealloc, 0, 0, q);
  // Release in a later chunk: free_after points past this one.
  c.free_after[c2] = 1'000'000;
  ExpectRoundTrip(c);
}

TEST(EventChunkTest, RoundTripsThousandsOfThreads) {
  EventColumns c = MakeSyntheticHeapStream({.events = 20000});
  for (size_t i = 0; i < c.thread.size(); ++i) c.thread[i] = 1 + static_cast<int64_t>(i % 4000) * 3;
  ExpectRoundTrip(c);
}

TEST(EventChunkTest, RoundTripsTheLargestChunk) {
  EventColumns c = MakeSyntheticHeapStream({.events = kMaxChunkEvents, .threads = 6});
  const size_t bytes = ExpectRoundTrip(c);
  EXPECT_LT(bytes, 8 * kMaxChunkEvents);
}

TEST(EventChunkTest, ZoneMapOfFailedAllocationsOnlyHasNoAddresses) {
  EventColumns c;
  c.Resize(2);
  c.seq = {1, 2};
  c.thread = {3, 3};
  c.op = {static_cast<uint8_t>(Op::kMalloc), static_cast<uint8_t>(Op::kFuncExit)};
  c.size = {kMax64, 0};
  EventChunkEncoder encoder;
  std::string blob;
  ChunkZoneMap zone;
  ASSERT_TRUE(encoder.Encode(c, &blob, &zone).ok());
  EXPECT_FALSE(zone.HasAddresses());
  EXPECT_TRUE(zone.HasOp(Op::kMalloc));
  EXPECT_TRUE(zone.HasOp(Op::kFuncExit));
  EXPECT_FALSE(zone.HasOp(Op::kFree));
  EXPECT_EQ(zone.threads, std::vector<int64_t>{3});
}

TEST(EventChunkTest, EncoderRejectsColumnsThatAreNotAChunk) {
  EventChunkEncoder encoder;
  std::string blob = "untouched";
  ChunkZoneMap zone;
  EventColumns c;
  EXPECT_THAT(encoder.Encode(c, &blob, &zone).message(), HasSubstr("no events"));
  c = MakeSyntheticHeapStream({.events = 10});
  c.seq[7] = c.seq[6];
  EXPECT_THAT(encoder.Encode(c, &blob, &zone).message(), HasSubstr("seq not increasing at row 7"));
  c = MakeSyntheticHeapStream({.events = 10});
  c.op.pop_back();
  EXPECT_THAT(encoder.Encode(c, &blob, &zone).message(), HasSubstr("columns differ in length"));
  c.Resize(kMaxChunkEvents + 1);
  EXPECT_THAT(encoder.Encode(c, &blob, &zone).message(), HasSubstr("more than the limit"));
  EXPECT_EQ(blob, "untouched");
}

// A release whose allocation is in the same chunk costs nothing in addr:
// the same events without the pairing need clearly more bytes.
TEST(EventChunkTest, PairedReleasesMakeAddressesCheap) {
  EventColumns paired = MakeSyntheticHeapStream({.events = 1 << 16});
  EventColumns unpaired = paired;
  std::fill(unpaired.free_after.begin(), unpaired.free_after.end(), 0);
  const size_t with_pairs = ExpectRoundTrip(paired);
  const size_t without = ExpectRoundTrip(unpaired);
  // free_after costs bytes of its own; the addresses it saves cost more.
  EXPECT_LT(with_pairs, without);
}

// The figure the trace size depends on: a realistic stream in chunks of
// 64 Ki events. Bounds are for this fixed seed (deterministic), not timing.
TEST(EventChunkTest, RealisticStreamBytesPerEvent) {
  constexpr size_t kChunk = 1 << 16;
  const EventColumns all = MakeSyntheticHeapStream({.events = 16 * kChunk, .threads = 4});
  EventChunkEncoder encoder;
  EventChunkDecoder decoder;
  std::string blob;
  ChunkZoneMap zone;
  EventColumns chunk, back;
  EventChunkDecoder::SectionBytes sections{};
  size_t bytes = 0;
  for (size_t first = 0; first < all.seq.size(); first += kChunk) {
    chunk.AssignRows(all, first, kChunk);
    ASSERT_TRUE(encoder.Encode(chunk, &blob, &zone).ok());
    ASSERT_TRUE(decoder.Decode(blob, &back, &sections).ok());
    ASSERT_EQ(back, chunk);
    bytes += blob.size();
  }
  const double per_event = static_cast<double>(bytes) / static_cast<double>(all.seq.size());
  std::printf("realistic stream: %zu events in chunks of %zu: %zu bytes, %.2f B/event\n",
              all.seq.size(), kChunk, bytes, per_event);
  for (int c = 0; c < kChunkColumnCount; ++c) {
    std::printf("  %-10s %.2f B/event\n", ChunkColumnName(static_cast<ChunkColumn>(c)),
                static_cast<double>(sections[c]) / static_cast<double>(all.seq.size()));
  }
  EXPECT_LT(per_event, 8.0);
  EXPECT_GT(per_event, 0.5);  // a stream this random cannot compress to nothing
}

}  // namespace
}  // namespace atr
