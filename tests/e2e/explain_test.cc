// End-to-end: the explain reports on the bundled example, whose culprits
// are known by construction (examples/session_server.cc).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "db/query.h"
#include "db/trace_reader.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

class ExplainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trace_ = dir_->File("example.db");
    CommandResult r = RunCommand({AtrBinary(), "record", "-q", "-o", trace_, "--",
                                  ExamplePath("session_server"), "3000"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static std::string trace_;
};
TempDir* ExplainTest::dir_ = nullptr;
std::string ExplainTest::trace_;

TEST_F(ExplainTest, FragRanksTheSessionsThatPinTokenSpansFirst) {
  CommandResult r = RunCommand({AtrBinary(), "frag", trace_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t first = r.out.find("\"pinning\":[{\"site\":\"");
  ASSERT_NE(first, std::string::npos) << r.out;
  std::string site = r.out.substr(first, 120);
  EXPECT_NE(site.find("keep_session"), std::string::npos) << site;
  // Text output leads with the same culprit.
  CommandResult text = RunCommand({AtrBinary(), "frag", trace_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  size_t culprit = text.out.find("#1 ");
  ASSERT_NE(culprit, std::string::npos) << text.out;
  EXPECT_NE(text.out.substr(culprit, 200).find("keep_session"), std::string::npos) << text.out;
}

// tests/programs/peak_survivor.c: cache_insert's entries, allocated just
// before the peak and freed after it, are the peak survivors; scratch_parse's
// temporaries in the same stretch die at once and are not; remember_client's
// leak in the loop leads `atr leaks`.
TEST(ExplainCulpritsTest, PeakSurvivorAndLeakInALoopRankFirst) {
  TempDir dir;
  std::string trace = dir.File("survivor.db");
  CommandResult rec =
      RunCommand({AtrBinary(), "record", "-q", "-o", trace, "--", ProgramPath("peak_survivor")});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;

  CommandResult frag = RunCommand({AtrBinary(), "frag", trace, "--json"});
  ASSERT_EQ(frag.exit_code, 0) << frag.err;
  size_t survivors = frag.out.find("\"survivors\":[{\"site\":\"");
  ASSERT_NE(survivors, std::string::npos) << frag.out;
  std::string first = frag.out.substr(survivors, frag.out.find('}', survivors) - survivors);
  EXPECT_NE(first.find("cache_insert"), std::string::npos) << first;
  std::string all = frag.out.substr(survivors, frag.out.find(']', survivors) - survivors);
  EXPECT_EQ(all.find("scratch_parse"), std::string::npos) << all;

  CommandResult leaks = RunCommand({AtrBinary(), "leaks", trace, "--csv"});
  ASSERT_EQ(leaks.exit_code, 0) << leaks.err;
  std::string row = leaks.out.substr(leaks.out.find('\n') + 1);
  row = row.substr(0, row.find('\n'));
  // rank 1: 20000 / 50 = 400 blocks of 512 bytes.
  EXPECT_EQ(row.rfind("1,", 0), 0u) << leaks.out;
  EXPECT_NE(row.find(",400,204800,"), std::string::npos) << leaks.out;
  EXPECT_NE(row.find("remember_client"), std::string::npos) << row;
}

TEST_F(ExplainTest, TopRanksTheTokenParserByCalls) {
  CommandResult r = RunCommand({AtrBinary(), "top", trace_, "--by", "calls", "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string first_row = r.out.substr(r.out.find('\n') + 1);
  first_row = first_row.substr(0, first_row.find('\n'));
  // 3000 requests x 24 tokens.
  EXPECT_EQ(first_row.rfind("1,72000,", 0), 0u) << r.out;
  EXPECT_NE(first_row.find("parse_request"), std::string::npos) << first_row;
}

TEST_F(ExplainTest, LifetimesSizesAndTemporariesDescribeEachSite) {
  CommandResult r = RunCommand({AtrBinary(), "lifetimes", trace_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"never_freed\":30,"), std::string::npos) << r.out;  // load_config
  CommandResult sizes = RunCommand({AtrBinary(), "sizes", trace_, "--csv"});
  ASSERT_EQ(sizes.exit_code, 0) << sizes.err;
  EXPECT_NE(sizes.out.find("parse_request"), std::string::npos);
}

// Temporaries (freed by their thread before its next allocation) in
// session_server 3000, by construction: main releases batches 2 and 3
// (requests 1000-2999) right after parsing them, and each batch's last
// allocation is a token of its last request (1999 and 2999 keep no session
// and load no config), freed with no allocation in between: 2 of the 72000
// tokens, 48 bytes each. build_report frees its rows after making all of
// them: only the last of the 3000 is a temporary. Batch 1 is parsed by the
// worker and freed by main, so none of its tokens counts.
TEST_F(ExplainTest, TempCountsTheTemporariesOfEachSite) {
  CommandResult r = RunCommand({AtrBinary(), "temp", trace_, "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> rows = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 3u) << r.out;
  EXPECT_EQ(rows[0], "rank,calls,temporary,temporary_share,temporary_bytes,site");
  EXPECT_EQ(rows[1].rfind("1,72000,2,", 0), 0u) << rows[1];
  EXPECT_NE(rows[1].find(",96,(anonymous namespace)::parse_request(int) "), std::string::npos)
      << rows[1];
  EXPECT_EQ(rows[2].rfind("2,3000,1,", 0), 0u) << rows[2];
  EXPECT_NE(rows[2].find(",64,(anonymous namespace)::build_report(int) "), std::string::npos)
      << rows[2];
}

TEST_F(ExplainTest, WhoNamesTheLeakedBlockAndItsStack) {
  absl::StatusOr<TraceReader> reader = TraceReader::Open(trace_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      *reader, "SELECT addr + 10 FROM allocations WHERE size = 200 AND free_seq IS NULL LIMIT 1");
  ASSERT_TRUE(q.ok() && q->Next());
  std::string addr = std::to_string(q->Int(0));
  CommandResult r = RunCommand({AtrBinary(), "who", trace_, addr, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"holder\":{"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("load_config"), std::string::npos) << r.out;
  CommandResult bad = RunCommand({AtrBinary(), "who", trace_, "nonsense"});
  EXPECT_EQ(bad.exit_code, 1);
}

TEST_F(ExplainTest, DiffShowsTheLeakGrowingWithLoad) {
  std::string bigger = dir_->File("bigger.db");
  ASSERT_EQ(RunCommand({AtrBinary(), "record", "-q", "-o", bigger, "--",
                        ExamplePath("session_server"), "6000"})
                .exit_code,
            0);
  CommandResult r = RunCommand({AtrBinary(), "diff", trace_, bigger, "--by", "leaked", "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 30 more leaked 200-byte configs, all from main's loop (the worker's
  // first batch is the same in both runs).
  EXPECT_NE(r.out.find("1,6000,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("load_config"), std::string::npos) << r.out;
}

TEST_F(ExplainTest, TimelineEndsAtTheLeakedBytesBesideTheModel) {
  ASSERT_EQ(RunCommand({AtrBinary(), "frag", trace_}).exit_code, 0);  // stores a replay
  CommandResult r = RunCommand({AtrBinary(), "timeline", trace_, "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("time_ns,live_bytes,modelled_resident_bytes\n", 0), 0u) << r.out;
  // At the end only the never-released blocks are live.
  absl::StatusOr<TraceReader> reader = TraceReader::Open(trace_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      *reader, "SELECT sum(size) FROM allocations WHERE free_seq IS NULL");
  ASSERT_TRUE(q.ok() && q->Next());
  std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  size_t c1 = last.find(',');
  size_t c2 = last.find(',', c1 + 1);
  EXPECT_EQ(last.substr(c1 + 1, c2 - c1 - 1), std::to_string(q->Int(0))) << r.out;
}

TEST_F(ExplainTest, DemoRunsEndToEndAndWritesTheReport) {
  TempDir work;
  CommandResult r = RunCommand({AtrBinary(), "demo", "--dir", work.path(), "--requests", "3000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t frag = r.out.find("== atr frag");
  ASSERT_NE(frag, std::string::npos) << r.out;
  size_t culprit = r.out.find("#1 ", frag);
  ASSERT_NE(culprit, std::string::npos);
  EXPECT_NE(r.out.substr(culprit, 200).find("keep_session"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("system"), std::string::npos);  // glibc compared
  EXPECT_NE(r.out.find("report.html"), std::string::npos);
}

}  // namespace
}  // namespace atr::testing
