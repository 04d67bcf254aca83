// atr replay / compare / check on recorded programs.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "db/query.h"
#include "db/trace_reader.h"
#include "tests/e2e/run_command.h"
#include "tests/support/require_dependency.h"

namespace atr::testing {
namespace {

std::string RecordTrace(const TempDir& dir, const std::string& name,
                        const std::vector<std::string>& cmd,
                        const std::vector<std::string>& env = {}, int* exit_code = nullptr) {
  std::string out = dir.File(name);
  std::vector<std::string> argv = {AtrBinary(), "record", "-q", "-o", out, "--"};
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  CommandResult r = RunCommand(argv, env);
  if (exit_code != nullptr) *exit_code = r.exit_code;
  return out;
}

std::vector<std::string> Rows(const std::string& trace, const std::string& sql) {
  auto reader = TraceReader::Open(trace);
  EXPECT_TRUE(reader.ok()) << reader.status();
  std::vector<std::string> rows;
  auto q = QueryCursor::Run(*reader, sql);
  EXPECT_TRUE(q.ok()) << q.status();
  while (q->Next()) {
    std::string row;
    for (int c = 0; c < q->columns(); ++c) row += q->Text(c) + "|";
    rows.push_back(row);
  }
  return rows;
}

std::string JsonField(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return "";
  at += key.size() + 3;
  size_t end = json.find_first_of(",}", at);
  return json.substr(at, end - at);
}

TEST(ReplayTest, BuiltinReplayIsDeterministicOnAMultiThreadedTrace) {
  TempDir dir;
  std::string trace = RecordTrace(dir, "ss.db", {ExamplePath("session_server"), "3000"});
  ASSERT_EQ(Rows(trace, "SELECT count(DISTINCT tid) > 1 FROM events"),
            std::vector<std::string>{"1|"});
  CommandResult a = RunCommand({AtrBinary(), "replay", trace, "--json"});
  CommandResult b = RunCommand({AtrBinary(), "replay", trace, "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string digest = JsonField(a.out, "digest");
  EXPECT_EQ(digest.size(), 18u) << a.out;  // 16 hex digits, quoted
  EXPECT_EQ(digest, JsonField(b.out, "digest"));
  EXPECT_EQ(JsonField(a.out, "peak_resident_bytes"), JsonField(b.out, "peak_resident_bytes"));
  // The stored snapshots name the same spans (model addresses) and the same
  // allocations in them.
  std::vector<std::string> one =
      Rows(trace, "SELECT span_address, allocation_id FROM replay_blame WHERE replay_id = 1 "
                  "ORDER BY 1, 2");
  std::vector<std::string> two =
      Rows(trace, "SELECT span_address, allocation_id FROM replay_blame WHERE replay_id = 2 "
                  "ORDER BY 1, 2");
  EXPECT_FALSE(one.empty());
  EXPECT_EQ(one, two);
  EXPECT_EQ(Rows(trace, "SELECT count(DISTINCT digest), count(*) FROM replays"),
            std::vector<std::string>{"1|2|"});
  EXPECT_GT(std::stoi(Rows(trace, "SELECT count(*) FROM replay_samples WHERE replay_id = 1")[0]),
            10);
  // Another configuration is another outcome.
  CommandResult c = RunCommand({AtrBinary(), "replay", trace, "--json", "--no-store", "--config",
                                "page_size=16384", "--config", "scavenger.policy=eager"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(JsonField(c.out, "digest"), digest);
}

TEST(ReplayTest, RealDoubleFreeIsReportedWithBothStacks) {
  TempDir dir;
  // With tcache off, glibc does not notice this double free (the chunk is
  // not at the top of its fastbin), so the program runs to the end.
  std::string trace = RecordTrace(dir, "df.db", {ExamplePath("double_free")},
                                  {"GLIBC_TUNABLES=glibc.malloc.tcache_count=0"});
  CommandResult r = RunCommand({AtrBinary(), "check", trace});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("double free at seq"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("allocated (seq"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("first released (seq"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("make_name"), std::string::npos) << r.out;  // allocation stack
  EXPECT_NE(r.out.find("double_free.c:22"), std::string::npos) << r.out;  // the offending call
  EXPECT_NE(r.out.find("double_free.c:18"), std::string::npos) << r.out;  // the first release
}

TEST(ReplayTest, DoubleFreeThatGlibcAbortsOnIsReported) {
  TempDir dir;
  int code = 0;
  std::string trace = RecordTrace(dir, "df.db", {ExamplePath("double_free")}, {}, &code);
  EXPECT_EQ(code, 128 + 6);  // glibc: "free(): double free detected in tcache 2"
  // All three frees are in the trace, the aborting one included.
  ASSERT_EQ(Rows(trace, "SELECT count(*) FROM events WHERE op = 5")[0], "3|");
  CommandResult r = RunCommand({AtrBinary(), "check", trace, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("\"double_free\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"first_release\":{"), std::string::npos) << r.out;
}

TEST(ReplayTest, MismatchedFamiliesAndSizedDelete) {
  TempDir dir;
  std::string trace = RecordTrace(dir, "mm.db", {ProgramPath("replay_mismatch")});
  CommandResult r = RunCommand({AtrBinary(), "check", trace, "--no-leaks"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("allocated with new, released with free"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("allocated with malloc, released with delete"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("delete size 16, allocated 32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("release_with_free"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("make_with_new"), std::string::npos) << r.out;
  CommandResult j = RunCommand({AtrBinary(), "check", trace, "--json", "--no-leaks"});
  EXPECT_NE(j.out.find("\"mismatched_family\":2"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"wrong_sized_delete\":1"), std::string::npos) << j.out;
}

TEST(ReplayTest, CleanTraceChecksClean) {
  TempDir dir;
  std::string trace = RecordTrace(dir, "ss.db", {ExamplePath("session_server"), "300"});
  CommandResult r = RunCommand({AtrBinary(), "check", trace, "--no-leaks"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  CommandResult leaks = RunCommand({AtrBinary(), "check", trace});
  EXPECT_EQ(leaks.exit_code, 3);
  EXPECT_NE(leaks.out.find("load_config"), std::string::npos) << leaks.out;
}

TEST(ReplayTest, SystemAllocator) {
  TempDir dir;
  std::string trace = RecordTrace(dir, "ss.db", {ExamplePath("session_server"), "1000"});
  CommandResult sys = RunCommand({AtrBinary(), "replay", trace, "--allocator", "system"});
  ASSERT_EQ(sys.exit_code, 0) << sys.err;
  EXPECT_NE(sys.out.find("system (single threads)"), std::string::npos) << sys.out;
  EXPECT_EQ(Rows(trace, "SELECT allocator, threads, config LIKE '%stats=glibc%' FROM replays"),
            std::vector<std::string>{"system|single|1|"});
  EXPECT_EQ(Rows(trace, "SELECT count(*) > 0 FROM replay_samples WHERE replay_id = 1 AND "
                        "allocated_bytes IS NOT NULL"),
            std::vector<std::string>{"1|"});
}

// The real allocators scripts/setup.sh installs, each replayed on real
// threads and read through its own statistics interface (the `stats=` of
// the stored config; replayer/replay_driver_main.cc), with the statistic
// that interface gives stored in every sample.
struct RealAllocator {
  std::string name;
  std::string sample_column;  // filled from the allocator's statistics
};

void PrintTo(const RealAllocator& a, std::ostream* os) { *os << a.name; }

class RealAllocatorTest : public ::testing::TestWithParam<RealAllocator> {};

TEST_P(RealAllocatorTest, ReplaysOnRealThreadsWithItsOwnStatistics) {
  const RealAllocator& a = GetParam();
  TempDir dir;
  std::string trace = RecordTrace(dir, "ss.db", {ExamplePath("session_server"), "1000"});
  CommandResult r =
      RunCommand({AtrBinary(), "replay", trace, "--allocator", a.name, "--threads", "real"});
  ATR_REQUIRE_DEPENDENCY(r.exit_code != 1 || r.err.find("not found; install") == std::string::npos,
                         r.err);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(a.name + " (real threads)"), std::string::npos) << r.out;
  EXPECT_EQ(Rows(trace, "SELECT allocator, threads, config LIKE '%stats=" + a.name +
                            "%' FROM replays"),
            std::vector<std::string>{a.name + "|real|1|"});
  // Every sample carries the statistic, and the final one agrees with the
  // replay: everything still live at the end is the trace's leaks.
  EXPECT_EQ(Rows(trace, "SELECT count(*) > 1, count(*) = count(" + a.sample_column +
                            ") FROM replay_samples WHERE replay_id = 1"),
            std::vector<std::string>{"1|1|"});
  EXPECT_EQ(Rows(trace, "SELECT live_objects = (SELECT count(*) FROM allocations WHERE "
                        "free_seq IS NULL AND op < 50) FROM replay_samples WHERE replay_id = 1 "
                        "AND kind = 'final'"),
            std::vector<std::string>{"1|"});
}

INSTANTIATE_TEST_SUITE_P(Allocators, RealAllocatorTest,
                         ::testing::Values(RealAllocator{"jemalloc", "allocated_bytes"},
                                           RealAllocator{"tcmalloc", "allocated_bytes"},
                                           RealAllocator{"mimalloc", "mapped_bytes"}),
                         [](const ::testing::TestParamInfo<RealAllocator>& i) {
                           return i.param.name;
                         });

TEST(ReplayTest, CompareTable) {
  TempDir dir;
  std::string trace = RecordTrace(dir, "ss.db", {ExamplePath("session_server"), "500"});
  CommandResult r = RunCommand(
      {AtrBinary(), "compare", trace, "--allocators", "builtin,builtin-fullest,system,nosuch"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"allocator", "peak resident", "J&W #3", "builtin-fullest", "system",
                        "unknown allocator 'nosuch'"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
  CommandResult j = RunCommand(
      {AtrBinary(), "compare", trace, "--allocators", "builtin", "--json", "--no-store"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_NE(j.out.find("\"jw4\":"), std::string::npos) << j.out;
  EXPECT_EQ(Rows(trace, "SELECT count(*) FROM replays"), std::vector<std::string>{"3|"});
}

TEST(ReplayTest, ErrorsAndUsage) {
  for (const char* cmd : {"replay", "compare", "check"}) {
    CommandResult h = RunCommand({AtrBinary(), cmd, "--help"});
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find("Usage"), std::string::npos) << cmd;
    CommandResult missing = RunCommand({AtrBinary(), cmd, "/nonexistent/t.db"});
    EXPECT_EQ(missing.exit_code, 1) << cmd;
  }
  TempDir dir;
  std::string trace = RecordTrace(dir, "ss.db", {ExamplePath("session_server"), "100"});
  CommandResult cfg = RunCommand({AtrBinary(), "replay", trace, "--config", "no_such_key=1"});
  EXPECT_EQ(cfg.exit_code, 1);
  EXPECT_NE(cfg.err.find("no_such_key"), std::string::npos) << cfg.err;
  CommandResult usage =
      RunCommand({AtrBinary(), "replay", trace, "--allocator", "system", "--config", "a=b"});
  EXPECT_EQ(usage.exit_code, 2);
  CommandResult until = RunCommand({AtrBinary(), "replay", trace, "--until", "50", "--json"});
  EXPECT_EQ(until.exit_code, 0) << until.err;
  EXPECT_EQ(JsonField(until.out, "last_seq"), "50");
}

}  // namespace
}  // namespace atr::testing
