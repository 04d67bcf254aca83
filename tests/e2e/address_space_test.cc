// mremap, brk and sbrk recorded by `atr record`: tests/programs/
// address_space_ops.c makes a known number of each call with known
// arguments, and each must be in the trace exactly once, as docs/
// trace-format.md describes it (db/ops.h has the op codes).
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/ops.h"
#include "db/query.h"
#include "tests/e2e/run_command.h"
#include "tests/e2e/trace_query.h"

namespace atr::testing {
namespace {

int Code(Op op) { return static_cast<int>(op); }

class AddressSpaceOpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trace_ = dir_->File("ops.db");
    CommandResult r = AtrRecord(trace_, {ProgramPath("address_space_ops")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream out(r.out);
    ASSERT_TRUE(out >> page_ >> start_break_) << r.out;
  }
  static void TearDownTestSuite() { delete dir_; }

  // The `column` values of `op`'s events in order, joined with spaces.
  static std::string Values(Op op, const std::string& column) {
    TraceReader reader = OpenTrace(trace_);
    std::string sql = absl::StrCat("SELECT group_concat(", column,
                                   ", ' ') FROM (SELECT * FROM events WHERE op = ", Code(op),
                                   " ORDER BY seq)");
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(reader, sql);
    EXPECT_TRUE(q.ok()) << q.status();
    return q.ok() && q->Next() ? q->Text(0) : "";
  }

  static TempDir* dir_;
  static std::string trace_;
  static int64_t page_;
  static int64_t start_break_;
};
TempDir* AddressSpaceOpsTest::dir_ = nullptr;
std::string AddressSpaceOpsTest::trace_;
int64_t AddressSpaceOpsTest::page_ = 0;
int64_t AddressSpaceOpsTest::start_break_ = 0;

TEST_F(AddressSpaceOpsTest, EveryMremapIsAReleaseAndAnAcquisition) {
  const int64_t p = page_;
  EXPECT_EQ(Values(Op::kMremapRelease, "size"), absl::StrCat(p, " ", 2 * p, " ", 4 * p));
  EXPECT_EQ(Values(Op::kMremap, "size"), absl::StrCat(2 * p, " ", 4 * p, " ", 8 * p));
  TraceReader reader = OpenTrace(trace_);
  // Each release names the block the previous call returned (or mmap's).
  EXPECT_EQ(QueryInt(reader,
                     absl::StrCat("SELECT count(*) FROM events r WHERE r.op = ",
                                  Code(Op::kMremapRelease),
                                  " AND r.addr = (SELECT a.addr FROM events a WHERE a.seq < r.seq "
                                  "AND a.op IN (", Code(Op::kMmap), ", ", Code(Op::kMremap),
                                  ") ORDER BY a.seq DESC LIMIT 1)")),
            3);
  // The final block is the one munmap released, whole.
  EXPECT_EQ(QueryInt(reader, absl::StrCat("SELECT count(*) FROM events u WHERE u.op = ",
                                          Code(Op::kMunmap), " AND u.size = ", 8 * p,
                                          " AND u.addr = (SELECT addr FROM events WHERE op = ",
                                          Code(Op::kMremap), " ORDER BY seq DESC LIMIT 1)")),
            1);
}

TEST_F(AddressSpaceOpsTest, EverySbrkWithItsIncrementAndTheBreakBefore) {
  const int64_t p = page_;
  // size is the increment (two's complement when shrinking).
  EXPECT_EQ(Values(Op::kSbrk, "size"), absl::StrCat("0 ", 4 * p, " ", 4 * p, " ", -8 * p));
  // addr is the break before the call: start, start, start + 4 pages, + 8.
  const int64_t b = start_break_;
  EXPECT_EQ(Values(Op::kSbrk, "addr"), absl::StrCat(b, " ", b, " ", b + 4 * p, " ", b + 8 * p));
}

TEST_F(AddressSpaceOpsTest, EveryBrkWithTheRequestedAndThePreviousEnd) {
  const int64_t p = page_, b = start_break_;
  EXPECT_EQ(Values(Op::kBrk, "addr"), absl::StrCat(b + 2 * p, " ", b));
  EXPECT_EQ(Values(Op::kBrk, "arg"), absl::StrCat(b, " ", b + 2 * p));
}

}  // namespace
}  // namespace atr::testing
