// The options of `atr record`, each checked for its effect in the trace
// against a recording of the same program with the defaults
// (examples/session_server: frame pointers, debug info, malloc/new and
// free/delete on two threads).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/e2e/run_command.h"
#include "tests/e2e/trace_query.h"

namespace atr::testing {
namespace {

// The deepest stack: the depth of the deepest node of the stacks trie.
constexpr char kMaxStackDepth[] =
    "WITH RECURSIVE d(id, depth) AS (SELECT id, 1 FROM stacks WHERE parent IS NULL "
    "UNION ALL SELECT s.id, d.depth + 1 FROM stacks s JOIN d ON s.parent = d.id) "
    "SELECT max(depth) FROM d";
// Frees and deletes with a stack (realloc's and mremap's release halves
// share the acquisition's stack, so they are left out).
constexpr char kReleasesWithStack[] =
    "SELECT count(*) FROM events e JOIN ops o ON o.code = e.op WHERE o.role = 'release' "
    "AND e.op NOT IN (11, 53) AND e.stack IS NOT NULL";
constexpr char kAcquisitionsWithoutStack[] =
    "SELECT count(*) FROM events e JOIN ops o ON o.code = e.op WHERE o.role = 'acquire' "
    "AND e.stack IS NULL";
constexpr char kSymbolizedFrames[] = "SELECT count(*) FROM frames WHERE function IS NOT NULL";
// Stacks that reach session_server's main through the unwinder.
constexpr char kStacksThroughMain[] =
    "SELECT count(*) FROM frames f JOIN modules m ON m.id = f.module_id WHERE f.function = "
    "'main' AND m.path LIKE '%atr-example-session_server' AND f.id IN (SELECT frame FROM stacks)";

const std::vector<std::string> kProgram = {ExamplePath("session_server"), "200"};

class RecordFlagsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    defaults_ = Record("defaults.db", {});
  }
  static void TearDownTestSuite() { delete dir_; }

  // Records kProgram with `options` into dir_/name and returns the path.
  static std::string Record(const std::string& name, const std::vector<std::string>& options) {
    std::string path = dir_->File(name);
    CommandResult r = AtrRecord(path, kProgram, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }

  static TempDir* dir_;
  static std::string defaults_;
};
TempDir* RecordFlagsTest::dir_ = nullptr;
std::string RecordFlagsTest::defaults_;

TEST_F(RecordFlagsTest, DefaultsKeepDeepSymbolizedStacksOfEveryEvent) {
  TraceReader reader = OpenTrace(defaults_);
  EXPECT_EQ(reader.Meta("unwinder"), "table");
  EXPECT_GT(QueryInt(reader, kMaxStackDepth), 3);
  EXPECT_GT(QueryInt(reader, kReleasesWithStack), 100);
  EXPECT_EQ(QueryInt(reader, kAcquisitionsWithoutStack), 0);
  EXPECT_GT(QueryInt(reader, kSymbolizedFrames), 10);
  EXPECT_GT(QueryInt(reader, kStacksThroughMain), 0);
}

TEST_F(RecordFlagsTest, MaxDepthCapsEveryStack) {
  TraceReader reader = OpenTrace(Record("depth.db", {"--max-depth", "3"}));
  EXPECT_EQ(QueryInt(reader, kMaxStackDepth), 3);
  EXPECT_EQ(QueryInt(reader, kAcquisitionsWithoutStack), 0);
}

TEST_F(RecordFlagsTest, NoFreeStacksLeavesReleasesWithoutStacks) {
  TraceReader reader = OpenTrace(Record("nofree.db", {"--no-free-stacks"}));
  EXPECT_EQ(QueryInt(reader, kReleasesWithStack), 0);
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM events WHERE op IN (5, 30, 32)"), 100);
  EXPECT_EQ(QueryInt(reader, kAcquisitionsWithoutStack), 0);
}

TEST_F(RecordFlagsTest, NoSymbolizeLeavesFramesAsModuleAndOffset) {
  TraceReader reader = OpenTrace(Record("nosym.db", {"--no-symbolize"}));
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM frames WHERE module_id IS NOT NULL"), 10);
  EXPECT_EQ(QueryInt(reader, kSymbolizedFrames), 0);
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM frames WHERE file IS NOT NULL"), 0);
}

TEST_F(RecordFlagsTest, UnwindNoneRecordsNoStacks) {
  TraceReader reader = OpenTrace(Record("none.db", {"--unwind", "none"}));
  EXPECT_EQ(reader.Meta("unwinder"), "none");
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM events WHERE op = 20"), 1000);  // new
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM events WHERE stack IS NOT NULL"), 0);
}

TEST_F(RecordFlagsTest, EveryUnwinderReachesMain) {
  for (const char* unwinder : {"table", "libunwind", "fp"}) {
    SCOPED_TRACE(unwinder);
    TraceReader reader =
        OpenTrace(Record(std::string(unwinder) + ".db", {"--unwind", unwinder}));
    EXPECT_EQ(reader.Meta("unwinder"), unwinder);
    EXPECT_EQ(QueryInt(reader, kAcquisitionsWithoutStack), 0);
    EXPECT_GT(QueryInt(reader, kStacksThroughMain), 0);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(RecordFlagsTest, AnExistingTraceIsReplacedOnlyWithForce) {
  std::string path = dir_->File("existing.db");
  std::ofstream(path) << "keep me\n";
  std::string marker = dir_->File("ran");
  CommandResult refused = AtrRecord(path, {"touch", marker});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find(path), std::string::npos) << refused.err;
  EXPECT_EQ(ReadFile(path), "keep me\n");
  struct stat st {};
  EXPECT_NE(stat(marker.c_str(), &st), 0) << "the command ran although the trace was refused";

  CommandResult forced = AtrRecord(path, {"touch", marker}, {"--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(stat(marker.c_str(), &st), 0);
  TraceReader reader = OpenTrace(path);
  EXPECT_EQ(reader.MetaInt("recording_complete"), 1);
}

}  // namespace
}  // namespace atr::testing
