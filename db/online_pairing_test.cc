#include "db/online_pairing.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "db/db_test_util.h"
#include "db/trace_writer.h"
#include "gtest/gtest.h"

namespace atr::db_internal {
namespace {

// A heap where every block lives a few events: mallocs at 64 addresses,
// each freed 3 allocations later, plus one never freed.
std::vector<PairingEvent> Script() {
  std::vector<PairingEvent> out;
  int64_t seq = 0;
  auto add = [&](Op op, uint64_t addr, uint64_t size) {
    ++seq;
    out.push_back({.seq = seq, .thread = 1 + seq % 2, .addr = addr, .size = size,
                   .stack = 1 + seq % 5, .pid = 7, .op = op});
  };
  add(Op::kMalloc, 0x9000, 1000);
  for (uint64_t i = 0; i < 64; ++i) {
    add(Op::kMalloc, 0x1000 + 16 * i, 1 + i);
    if (i >= 3) add(Op::kFree, 0x1000 + 16 * (i - 3), 0);
  }
  return out;
}

// Feeds `events` in the given order through an OnlinePairing with a small
// reorder window; nullopt when it gave up.
std::optional<AllocationStats> PairAsFed(const std::vector<PairingEvent>& events, bool* abandoned) {
  std::string path = ::atr::testing::FreshPath("online.db");
  {
    auto w = TraceWriter::Create(path);
    EXPECT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE((*w)->Flush().ok());
  }
  absl::StatusOr<SqlDatabase> db = SqlDatabase::Open(path, SQLITE_OPEN_READWRITE);
  EXPECT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE(db->Exec("BEGIN", "test").ok());
  absl::StatusOr<BatchInserter> out = BatchInserter::Create(*db, "allocation_pairs", 2, 2, "t");
  EXPECT_TRUE(out.ok()) << out.status();
  OnlinePairing p(&*db, &*out, /*reorder_window=*/4);
  for (const PairingEvent& e : events) EXPECT_TRUE(p.Add(e).ok());
  *abandoned = p.abandoned();
  absl::StatusOr<std::optional<AllocationStats>> stats = p.Finish(*db);
  EXPECT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(db->Exec("COMMIT", "test").ok());
  return stats.ok() ? *stats : std::nullopt;
}

TEST(OnlinePairing, ReordersWithinTheWindow) {
  std::vector<PairingEvent> events = Script();
  bool abandoned = true;
  std::optional<AllocationStats> sorted = PairAsFed(events, &abandoned);
  ASSERT_TRUE(sorted.has_value());
  EXPECT_EQ(sorted->allocations, 65);
  EXPECT_EQ(sorted->releases, 61);
  EXPECT_EQ(sorted->leaked, 4);
  EXPECT_EQ(sorted->unmatched_releases, 0);

  // Adjacent events swapped: what two threads' interleaved chunks look like.
  for (size_t i = 0; i + 1 < events.size(); i += 2) std::swap(events[i], events[i + 1]);
  std::optional<AllocationStats> swapped = PairAsFed(events, &abandoned);
  EXPECT_FALSE(abandoned);
  ASSERT_TRUE(swapped.has_value());
  EXPECT_EQ(*swapped, *sorted);
}

TEST(OnlinePairing, GivesUpOnAnEventOlderThanThePairedOnes) {
  std::vector<PairingEvent> events = Script();
  // The first event arrives after 20 later ones were paired.
  std::rotate(events.begin(), events.begin() + 1, events.begin() + 21);
  bool abandoned = false;
  EXPECT_EQ(PairAsFed(events, &abandoned), std::nullopt);
  EXPECT_TRUE(abandoned);
}

}  // namespace
}  // namespace atr::db_internal
