// The event chunk decoder on blobs it must refuse: each damage gives one
// line saying what is wrong, and random damage never crashes it (this test
// runs under ASan in CI, which turns any read out of bounds into a failure).
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "db/chunk_bytes.h"
#include "db/event_chunk_decoder.h"
#include "db/event_chunk_encoder.h"
#include "db/event_chunk_format.h"
#include "db/event_columns.h"
#include "db/synthetic_event_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::testing::HasSubstr;

std::string Encoded(const EventColumns& c) {
  EventChunkEncoder encoder;
  std::string blob;
  ChunkZoneMap zone;
  absl::Status s = encoder.Encode(c, &blob, &zone);
  EXPECT_TRUE(s.ok()) << s;
  return blob;
}

std::string DecodeError(std::string_view blob) {
  EventChunkDecoder decoder;
  EventColumns out;
  absl::Status s = decoder.Decode(blob, &out);
  EXPECT_FALSE(s.ok()) << "decoded a damaged blob";
  EXPECT_EQ(std::string(s.message()).find('\n'), std::string::npos) << s;
  return std::string(s.message());
}

TEST(EventChunkCorruptionTest, UnknownCodecVersion) {
  std::string blob = Encoded(MakeSyntheticHeapStream({.events = 100}));
  blob[0] = 7;
  EXPECT_EQ(DecodeError(blob), "unknown event chunk codec version 7 (this atr reads version 1)");
  EXPECT_THAT(DecodeError(""), HasSubstr("truncated: codec version"));
}

TEST(EventChunkCorruptionTest, EveryTruncationIsAnError) {
  const std::string blob = Encoded(MakeSyntheticHeapStream({.events = 300}));
  for (size_t len = 0; len < blob.size(); ++len) {
    SCOPED_TRACE(len);
    EXPECT_THAT(DecodeError(blob.substr(0, len)), HasSubstr("truncated"));
  }
}

TEST(EventChunkCorruptionTest, TrailingBytes) {
  EXPECT_EQ(DecodeError(Encoded(MakeSyntheticHeapStream({.events = 50})) + "xy"),
            "2 bytes follow the last column");
}

// A header by hand: version, n, thread dictionary, bases.
std::string Header(uint64_t n, uint64_t threads) {
  std::string h(1, static_cast<char>(kEventChunkCodecVersion));
  PutVarint(&h, n);
  PutVarint(&h, threads);
  for (uint64_t t = 0; t < threads; ++t) PutVarint(&h, t == 0 ? 2 : 0);  // threads 1, 2, ...
  PutVarint(&h, ZigZag(1));
  PutVarint(&h, ZigZag(0));
  return h;
}

// A raw section: width, exceptions, storage, payload.
std::string RawSection(uint8_t width, const std::string& payload, uint64_t exceptions = 0) {
  std::string s(1, static_cast<char>(width));
  PutVarint(&s, exceptions);
  s.push_back(static_cast<char>(SectionStorage::kRaw));
  PutVarint(&s, payload.size());
  return s + payload;
}

std::string ZeroSections(int count) {
  std::string s;
  for (int i = 0; i < count; ++i) s += RawSection(0, "");
  return s;
}

TEST(EventChunkCorruptionTest, HandMadeBlobDecodes) {
  // Two events, every column zero but thread: the smallest valid blob shape.
  const std::string blob =
      Header(2, 2) + ZeroSections(2) + RawSection(1, std::string("\x00\x01", 2)) + ZeroSections(7);
  EventChunkDecoder decoder;
  EventColumns out;
  ASSERT_TRUE(decoder.Decode(blob, &out).ok());
  EXPECT_EQ(out.seq, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(out.thread, (std::vector<int64_t>{1, 2}));
}

TEST(EventChunkCorruptionTest, CountsOutOfRange) {
  EXPECT_EQ(DecodeError(Header(0, 1)), "event count 0 is outside 1..1048576");
  EXPECT_EQ(DecodeError(Header(kMaxChunkEvents + 1, 1)),
            "event count 1048577 is outside 1..1048576");
  EXPECT_EQ(DecodeError(Header(2, 3)), "thread count 3 is outside 1..2 (the event count)");
  EXPECT_EQ(DecodeError(Header(2, 1) + RawSection(9, "")),
            "column seq: byte width 9 is more than 8");
  EXPECT_EQ(
      DecodeError(Header(2, 1) + RawSection(1, "abc")),
      "column seq: payload of 3 bytes is more than 2 values of 1 bytes and 0 exceptions can take");
  EXPECT_EQ(DecodeError(Header(2, 1) + RawSection(0, "", 3)),
            "column seq: 3 exceptions do not fit 2 values of 0 bytes");
}

TEST(EventChunkCorruptionTest, ValuesThatBreakInvariants) {
  // A thread index past the dictionary.
  EXPECT_EQ(DecodeError(Header(2, 1) + ZeroSections(2) + RawSection(1, std::string("\x00\x01", 2)) +
                        ZeroSections(7)),
            "column thread: row 1 names thread 1 of a dictionary of 1");
  // An op that is not a byte.
  EXPECT_EQ(DecodeError(Header(1, 1) + ZeroSections(3) + RawSection(2, std::string("\x00\x01", 2)) +
                        ZeroSections(6)),
            "column op: row 0 holds 256, not a byte");
  // sp_depth past 32 bits.
  EXPECT_EQ(DecodeError(Header(1, 1) + ZeroSections(8) +
                        RawSection(5, std::string("\0\0\0\0\x01", 5)) + ZeroSections(1)),
            "column sp_depth: row 0 holds 4294967296, more than 32 bits");
  // seq passing 2^63: base near the top and a gap.
  std::string h(1, static_cast<char>(kEventChunkCodecVersion));
  PutVarint(&h, 2);
  PutVarint(&h, 1);
  PutVarint(&h, 0);
  PutVarint(&h, ZigZag(std::numeric_limits<int64_t>::max() - 1));
  PutVarint(&h, 0);
  EXPECT_EQ(DecodeError(h + RawSection(1, std::string("\x00\x05", 2)) + ZeroSections(9)),
            "column seq: passes 2^63 at row 1");
  // A varint of eleven bytes.
  EXPECT_EQ(DecodeError(std::string(1, static_cast<char>(kEventChunkCodecVersion)) +
                        std::string(10, '\xff') + '\x01'),
            "event count: varint does not fit 64 bits");
}

TEST(EventChunkCorruptionTest, DamagedZstdFrame) {
  const EventColumns c = MakeSyntheticHeapStream({.events = 4096});
  const std::string blob = Encoded(c);
  // Find the first zstd frame by its magic number and damage its content.
  const std::string magic("\x28\xb5\x2f\xfd", 4);
  const size_t at = blob.find(magic);
  ASSERT_NE(at, std::string::npos);
  std::string damaged = blob;
  damaged[at] = 0;
  EXPECT_THAT(DecodeError(damaged), HasSubstr("zstd: "));
  damaged = blob;
  for (size_t i = at + 12; i < at + 40; ++i) damaged[i] ^= 0x5a;
  EXPECT_THAT(DecodeError(damaged), HasSubstr("zstd: "));
}

// Bounded random mutation: flip, overwrite, cut, extend, insert and delete
// bytes of valid blobs, a few at a time, with a fixed seed. Each result
// must decode to an error or to columns that form a valid chunk and
// re-encode to the same columns.
TEST(EventChunkCorruptionTest, RandomMutationsNeverCrash) {
  std::vector<std::string> seeds = {
      Encoded(MakeSyntheticHeapStream({.events = 1})),
      Encoded(MakeSyntheticHeapStream({.events = 40, .seed = 2})),
      Encoded(MakeSyntheticHeapStream({.events = 2000, .threads = 7, .seed = 3})),
  };
  std::mt19937_64 rng(20261208);
  EventChunkDecoder decoder;
  EventChunkEncoder encoder;
  EventColumns out, again;
  std::string reencoded;
  ChunkZoneMap zone;
  int errors = 0, decoded = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string blob = seeds[rng() % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !blob.empty(); ++m) {
      const size_t at = rng() % blob.size();
      switch (rng() % 6) {
        case 0:
          blob[at] ^= static_cast<char>(1 << (rng() % 8));
          break;
        case 1:
          blob[at] = static_cast<char>(rng());
          break;
        case 2:
          blob.resize(at);
          break;
        case 3:
          blob.append(1 + rng() % 16, static_cast<char>(rng()));
          break;
        case 4:
          blob.insert(at, 1, static_cast<char>(rng()));
          break;
        default:
          blob.erase(at, 1 + rng() % 4);
          break;
      }
    }
    if (!decoder.Decode(blob, &out).ok()) {
      ++errors;
      continue;
    }
    ++decoded;
    ASSERT_TRUE(CheckChunkColumns(out).ok()) << iteration;
    ASSERT_TRUE(encoder.Encode(out, &reencoded, &zone).ok()) << iteration;
    ASSERT_TRUE(decoder.Decode(reencoded, &again).ok()) << iteration;
    ASSERT_EQ(again, out) << iteration;
  }
  std::printf("mutated blobs: %d refused, %d decoded to valid columns\n", errors, decoded);
  EXPECT_GT(errors, 3000);  // nearly every mutation is caught
}

}  // namespace
}  // namespace atr
