#include "db/byte_planes.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::testing::HasSubstr;

std::vector<uint64_t> Unpacked(const std::string& payload, PlaneLayout layout, size_t n) {
  std::vector<uint64_t> out(n, 0xdead);
  absl::Status s = UnpackBytePlanes(payload, layout, absl::MakeSpan(out));
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(BytePlanesTest, RoundTripsEveryWidth) {
  std::mt19937_64 rng(7);
  for (int bits = 0; bits <= 64; bits += 4) {
    std::vector<uint64_t> v(1000);
    for (uint64_t& x : v) x = bits == 0 ? 0 : rng() >> (64 - bits);
    std::string payload;
    const PlaneLayout layout = PackBytePlanes(v, &payload);
    EXPECT_EQ(layout.width, (bits + 7) / 8) << bits;
    EXPECT_EQ(layout.exceptions, 0u);
    EXPECT_EQ(payload.size(), v.size() * layout.width);
    EXPECT_EQ(Unpacked(payload, layout, v.size()), v);
  }
}

TEST(BytePlanesTest, RareLargeValuesBecomeExceptions) {
  std::vector<uint64_t> v(10000, 3);
  v[0] = ~uint64_t{0};
  v[5000] = uint64_t{1} << 40;
  v[9999] = 256;
  std::string payload;
  const PlaneLayout layout = PackBytePlanes(v, &payload);
  EXPECT_EQ(layout.width, 1);
  EXPECT_EQ(layout.exceptions, 3u);
  EXPECT_LT(payload.size(), v.size() + 40);
  EXPECT_EQ(Unpacked(payload, layout, v.size()), v);
}

TEST(BytePlanesTest, EmptyAndAllZero) {
  std::string payload;
  EXPECT_EQ(PackBytePlanes({}, &payload).width, 0);
  EXPECT_TRUE(payload.empty());
  std::vector<uint64_t> zeros(100, 0);
  const PlaneLayout layout = PackBytePlanes(zeros, &payload);
  EXPECT_EQ(layout.width, 0);
  EXPECT_TRUE(payload.empty());
  EXPECT_EQ(Unpacked(payload, layout, zeros.size()), zeros);
}

TEST(BytePlanesTest, RejectsPayloadsThatDoNotMatchTheLayout) {
  std::vector<uint64_t> v = {1, 1000, 3, uint64_t{1} << 50};
  std::string payload;
  const PlaneLayout layout = PackBytePlanes(v, &payload);
  ASSERT_EQ(layout.exceptions, 1u);
  std::vector<uint64_t> out(v.size());
  EXPECT_THAT(UnpackBytePlanes(payload.substr(0, payload.size() - 1), layout, absl::MakeSpan(out))
                  .message(),
              HasSubstr("truncated"));
  EXPECT_THAT(UnpackBytePlanes(payload + "x", layout, absl::MakeSpan(out)).message(),
              HasSubstr("left over"));
  EXPECT_THAT(UnpackBytePlanes(payload, {.width = 9}, absl::MakeSpan(out)).message(),
              HasSubstr("byte width 9"));
  EXPECT_THAT(
      UnpackBytePlanes(payload, {.width = 8, .exceptions = 1}, absl::MakeSpan(out)).message(),
      HasSubstr("exceptions do not fit"));
  // An exception row past the end: planes of width 2 for 4 values, then row gap 4.
  std::string bad(8, '\0');
  bad += '\x04';
  bad += '\x01';
  EXPECT_THAT(UnpackBytePlanes(bad, {.width = 2, .exceptions = 1}, absl::MakeSpan(out)).message(),
              HasSubstr("names a row past"));
  // High bits that would be shifted out of 64 bits.
  std::string wide(4 * 7, '\0');
  wide += '\x00';
  wide += "\x80\x02";  // 0x100: one bit too many above 7 bytes
  EXPECT_THAT(UnpackBytePlanes(wide, {.width = 7, .exceptions = 1}, absl::MakeSpan(out)).message(),
              HasSubstr("does not fit 64 bits"));
}

TEST(BytePlanesTest, MaxPayloadBoundsWhatPackWrites) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 50; ++round) {
    std::vector<uint64_t> v(1 + rng() % 500);
    for (uint64_t& x : v) x = rng() % 10 == 0 ? rng() : rng() % 200;
    std::string payload;
    const PlaneLayout layout = PackBytePlanes(v, &payload);
    EXPECT_TRUE(CheckPlaneLayout(layout, v.size()).ok());
    EXPECT_LE(payload.size(), MaxPlanePayload(layout, v.size()));
    EXPECT_EQ(Unpacked(payload, layout, v.size()), v);
  }
}

}  // namespace
}  // namespace atr
