// End-to-end: `atr record` on real programs, then the trace is queried with
// SQL and through `atr info` / `atr leaks`.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "db/query.h"
#include "db/trace_reader.h"
#include "tests/e2e/run_command.h"
#include "tests/e2e/trace_query.h"
#include "tests/support/require_dependency.h"

namespace atr::testing {
namespace {

// The bundled example leaks exactly one 200-byte block per 100 requests and
// uses two threads; counts and leaks must be identical on every run.
TEST(RecordTest, ExampleCountsAndLeaksAreExactAndRepeatable) {
  TempDir dir;
  std::vector<int64_t> first;
  for (int run = 0; run < 2; ++run) {
    std::string trace = dir.File(absl::StrCat("run", run, ".db"));
    CommandResult r = AtrRecord(trace, {ExamplePath("session_server"), "2000"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    TraceReader reader = OpenTrace(trace);
    EXPECT_TRUE(reader.complete());
    // 48-byte `new`s: 2000 requests x 24 tokens and one session per 16
    // requests.
    int64_t tokens = QueryInt(reader, "SELECT count(*) FROM events WHERE op = 20 AND size = 48 "
                                      "AND stack IS NOT NULL");
    std::vector<int64_t> got = {
        QueryInt(reader, "SELECT count(*) FROM allocations WHERE free_seq IS NULL AND size = 200"),
        QueryInt(reader, "SELECT coalesce(sum(size), 0) FROM allocations "
                         "WHERE free_seq IS NULL AND size = 200"),
        QueryInt(reader, "SELECT count(DISTINCT tid) FROM events"),
        QueryInt(reader, "SELECT count(*) FROM events WHERE op = 5 AND addr IN "
                         "(SELECT addr FROM events WHERE op = 1 AND size = 200)"),
        tokens};
    EXPECT_EQ(got[0], 20);      // leaked blocks: requests 0, 100, ..., 1900
    EXPECT_EQ(got[1], 20 * 200);
    EXPECT_GE(got[2], 2);       // main + worker
    EXPECT_EQ(tokens, 2000 * 24 + 2000 / 16);
    if (run == 0) first = got;
    else EXPECT_EQ(got, first);
  }
}

TEST(RecordTest, TraceFileIsPrivate) {
  TempDir dir;
  std::string trace = dir.File("t.db");
  ASSERT_EQ(AtrRecord(trace, {ExamplePath("session_server"), "10"}).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(stat(trace.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(RecordTest, InfoAndLeaksReportTheLeakingFunction) {
  TempDir dir;
  std::string trace = dir.File("t.db");
  ASSERT_EQ(AtrRecord(trace, {ExamplePath("session_server"), "1000"}).exit_code, 0);
  CommandResult info = RunCommand({AtrBinary(), "info", trace, "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("\"exit_status\":0,"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("\"threads\":2,"), std::string::npos) << info.out;
  // The program's own leak, one 200-byte block per 100 requests, is one
  // group with its stack (the C++ runtime's own never-freed pools are others).
  CommandResult json = RunCommand({AtrBinary(), "leaks", trace, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"allocations\":10,\"bytes\":2000,"), std::string::npos) << json.out;
  CommandResult leaks = RunCommand({AtrBinary(), "leaks", trace});
  ASSERT_EQ(leaks.exit_code, 0) << leaks.err;
  EXPECT_NE(leaks.out.find("load_config"), std::string::npos) << leaks.out;
  EXPECT_NE(leaks.out.find("session_server.cc"), std::string::npos) << leaks.out;
}

TEST(RecordTest, ExitStatusIsTheCommandsAndAbortKeepsEveryEvent) {
  TempDir dir;
  std::string trace = dir.File("abort.db");
  CommandResult r = AtrRecord(trace, {ProgramPath("rec_crash"), "abort", "300"});
  EXPECT_EQ(r.exit_code, 128 + 6) << r.err;
  TraceReader reader = OpenTrace(trace);
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM events WHERE op = 1 AND size = 5555"), 300);
  // Every block was freed before the abort, the last one just before it:
  // all 300 frees reached the trace and pair with their blocks.
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM allocations WHERE size = 5555 AND free_op = 5"),
            300);
  EXPECT_EQ(QueryInt(reader, "SELECT exit_signal FROM processes"), 6);
}

TEST(RecordTest, SigkillLeavesAnOpenableTraceMarkedIncomplete) {
  TempDir dir;
  std::string trace = dir.File("kill.db");
  CommandResult r = AtrRecord(trace, {ProgramPath("rec_crash"), "kill", "100"});
  EXPECT_EQ(r.exit_code, 128 + 9) << r.err;
  TraceReader reader = OpenTrace(trace);
  EXPECT_TRUE(reader.complete());              // the trace itself is finished
  EXPECT_EQ(reader.MetaInt("recording_complete"), 0);  // the recording is not
  EXPECT_EQ(QueryInt(reader, "SELECT exit_signal FROM processes"), 9);
}

TEST(RecordTest, ForkedChildIsItsOwnProcess) {
  TempDir dir;
  std::string trace = dir.File("fork.db");
  ASSERT_EQ(AtrRecord(trace, {ProgramPath("rec_fork")}).exit_code, 0);
  TraceReader reader = OpenTrace(trace);
  EXPECT_EQ(QueryInt(reader, "SELECT count(DISTINCT pid) FROM processes"), 3);
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM events WHERE op = 1 AND size = 1111"), 5);
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM events WHERE op = 1 AND size = 2222"), 7);
  // The child's blocks belong to the child's pid, not the parent's.
  EXPECT_EQ(QueryInt(reader, "SELECT count(DISTINCT pid) FROM events WHERE size IN (1111, 2222)"),
            2);
}

TEST(RecordTest, CrossThreadFreesNeverShowAnAddressLiveTwice) {
  TempDir dir;
  std::string trace = dir.File("threads.db");
  ASSERT_EQ(AtrRecord(trace, {ProgramPath("rec_threads"), "20000"}).exit_code, 0);
  TraceReader reader = OpenTrace(trace);
  EXPECT_EQ(reader.MetaInt("alloc_reacquired_live"), 0);
  EXPECT_EQ(reader.MetaInt("alloc_unmatched_releases"), 0);
  // rec_threads: two producers malloc 20000 blocks of 16..271 bytes each and
  // only the two consumer threads free them; every one pairs with its free.
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM allocations WHERE op = 1 AND size BETWEEN 16 "
                             "AND 271 AND alloc_tid != free_tid"),
            2 * 20000);
}

TEST(RecordTest, DlopenedLibraryFramesAreSymbolized) {
  TempDir dir;
  std::string trace = dir.File("dl.db");
  CommandResult r = AtrRecord(trace, {ProgramPath("rec_dlopen"), ProgramPath("librec_plugin.so")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  TraceReader reader = OpenTrace(trace);
  EXPECT_GT(QueryInt(reader, "SELECT count(*) FROM frames JOIN modules ON modules.id = "
                             "frames.module_id WHERE modules.path LIKE '%librec_plugin.so' "
                             "AND frames.function IS NOT NULL"),
            0);
}

TEST(RecordTest, PreloadAloneThenImport) {
  TempDir dir;
  std::string spool = dir.File("alone.spool");
  ASSERT_EQ(mkdir(spool.c_str(), 0700), 0);
  CommandResult r = RunCommand({ExamplePath("session_server"), "500"},
                               {"LD_PRELOAD=" + BuildDir() + "/lib/libatr_preload.so",
                                "ATR_SPOOL_DIR=" + spool});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand({AtrBinary(), "import", spool});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  TraceReader reader = OpenTrace(dir.File("alone"));
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM allocations WHERE free_seq IS NULL AND "
                             "size = 200"),
            5);
}

// Whether the filesystem of `dir` frees the blocks of a punched hole (the
// collector's spool reclaiming needs it; tmpfs and ext4 do).
bool CanPunchHoles(const std::string& dir) {
  std::string path = dir + "/punch-probe";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::string block(1 << 16, 'x');
  bool ok = write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()) &&
            fsync(fd) == 0 &&
            fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 16) == 0;
  close(fd);
  unlink(path.c_str());
  return ok;
}

// rec_phases (recorder/testdata/rec_phases.c): PHASES x PAIRS malloc(777)/free
// pairs; after each phase it waits until its spool file holds fewer than
// kBound bytes on disk.
constexpr int kPhases = 6;
constexpr int kPairs = 100000;                       // ~6.4 MB of spool per phase
constexpr int64_t kBound = 1 << 20;

std::vector<std::string> Phases(int kill_after) {
  return {ProgramPath("rec_phases"), absl::StrCat(kPhases), absl::StrCat(kPairs),
          absl::StrCat(kBound), absl::StrCat(kill_after)};
}

// Events by op, and the checks every rec_phases trace must pass: every
// pair is there once, and the seqs from the first event on have no gap
// (seq is the key, so an event inserted twice would have failed the
// import; one missed would leave a gap).
std::map<int64_t, int64_t> CheckPhasesTrace(const std::string& trace) {
  TraceReader reader = OpenTrace(trace);
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM allocations WHERE size = 777 AND "
                             "free_seq IS NOT NULL"),
            int64_t{kPhases} * kPairs);
  EXPECT_EQ(QueryInt(reader, "SELECT count(*) FROM events"),
            QueryInt(reader, "SELECT max(seq) - min(seq) + 1 FROM events"));
  EXPECT_EQ(reader.MetaInt("lost_events"), 0);
  EXPECT_EQ(reader.MetaInt("corrupt_chunks"), 0);
  std::map<int64_t, int64_t> by_op;
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(reader, "SELECT op, count(*) FROM events GROUP BY op");
  EXPECT_TRUE(q.ok()) << q.status();
  while (q.ok() && q->Next()) by_op[q->Int(0)] = q->Int(1);
  return by_op;
}

// The spool is freed as the trace is committed: the program's own spool
// file grows to kPhases x ~11 MB, but after every phase its disk blocks
// drop below 1 MiB (the program checks st_blocks and fails otherwise).
TEST(RecordTest, SpoolDiskStaysBoundedWhileRecording) {
  TempDir dir;
  ATR_REQUIRE_DEPENDENCY(CanPunchHoles(dir.path()), "hole punching in " + dir.path());
  std::string trace = dir.File("phases.db");
  CommandResult r = AtrRecord(trace, Phases(0));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  int64_t size = 0, allocated = -1;
  ASSERT_EQ(sscanf(r.out.c_str(), "size %ld allocated %ld", &size, &allocated), 2) << r.out;
  EXPECT_GT(size, int64_t{kPhases - 1} * kPairs * 50);  // the file did grow
  EXPECT_LT(allocated, kBound);
  CheckPhasesTrace(trace);
  TraceReader reader = OpenTrace(trace);
  EXPECT_GT(reader.MetaInt("spool_bytes_freed").value_or(0), int64_t{kPhases - 1} * kPairs * 50);
  EXPECT_EQ(reader.MetaInt("recording_complete"), 1);
}

// SIGKILL on the collector (the program kills its parent after phase 2,
// once the collector committed and freed the start of its spool), the
// program runs to its end, then `atr import` continues the dead
// collector's trace from the committed offsets: exactly the events of an
// uninterrupted recording, none twice.
TEST(RecordTest, ImportFinishesTheTraceOfAKilledCollector) {
  TempDir dir;
  ATR_REQUIRE_DEPENDENCY(CanPunchHoles(dir.path()), "hole punching in " + dir.path());
  std::string whole = dir.File("whole.db");
  ASSERT_EQ(AtrRecord(whole, Phases(0)).exit_code, 0);
  std::map<int64_t, int64_t> expected = CheckPhasesTrace(whole);

  std::string trace = dir.File("killed.db");
  CommandResult r = AtrRecord(trace, Phases(2));
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.err << r.out;
  // The spool's committed start is gone from the disk (holes): only the
  // trace has those events now.
  std::string spool = trace + ".spool";
  int64_t holes = 0;
  for (const auto& e : std::filesystem::directory_iterator(spool)) {
    struct stat st {};
    if (e.path().extension() == ".spool" && stat(e.path().c_str(), &st) == 0) {
      holes += st.st_size - st.st_blocks * 512;
    }
  }
  EXPECT_GT(holes, int64_t{kPairs} * 100) << "the collector freed nothing before it died";
  {
    TraceReader unfinished = OpenTrace(trace);
    EXPECT_EQ(unfinished.MetaInt("complete"), 0);
    EXPECT_GT(QueryInt(unfinished, "SELECT count(*) FROM event_log"), 2 * kPairs);
  }
  r = RunCommand({AtrBinary(), "import", spool});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CheckPhasesTrace(trace), expected);
  TraceReader reader = OpenTrace(trace);
  EXPECT_EQ(reader.MetaInt("complete"), 1);
  // What `atr record` knew at the start survives the collector.
  EXPECT_NE(reader.Meta("argv").value_or("").find("rec_phases"), std::string::npos);
  EXPECT_NE(reader.Meta("start_time_utc").value_or(""), "");
  EXPECT_FALSE(std::filesystem::exists(spool));
}

}  // namespace
}  // namespace atr::testing
