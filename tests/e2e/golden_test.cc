// Golden tests: a small hand-written trace in, the exact text, JSON and CSV
// of the reports out, compared byte for byte with tests/golden/. A change in
// any report (a number, a column, a field name) is a visible diff there.
//
// When a report changes on purpose, rewrite the files and review the diff:
//
//   ATR_UPDATE_GOLDEN=1 ctest --test-dir build -R golden_test
//   git diff tests/golden/
//
// The trace is "golden.db": one process (pid 4242) of /usr/bin/server with a
// main thread and two workers, every frame symbolized, every number chosen
// so the reports can be checked by hand:
//
//   seq  ts_us  tid   op               addr  size  stack            freed at
//   1     0     4242  process_start
//   2     1     4242  malloc           cfg   4096  LoadConfig       never (leak)
//   3     2     4242  malloc           name    32  strdup           4 (temporary)
//   4     3     4242  free             name        LoadConfig
//   5     5     4243  thread_start                 (creator 4242)
//   6     6     4244  thread_start                 (creator 4242)
//   7    10     4243  new              sess1  128  Session::Open    16
//   8    11     4243  malloc           tok     64  Tokenize         9 (temporary)
//   9    11.5   4243  free             tok         Tokenize
//   10   12     4243  malloc           tok     64  Tokenize         11 (temporary)
//   11   12.25  4243  free             tok         Tokenize
//   12   13     4244  new              sess2  128  Session::Open    never (leak)
//   13   14     4244  malloc           buf    100  Buffer::Grow     14 (realloc)
//   14   20     4244  realloc_release  buf         Buffer::Grow
//   15   20     4244  realloc          buf2   400  Buffer::Grow     17
//   16   30     4243  delete           sess1       Session::Close
//   17   31     4244  free             buf2        WorkerLoop
//   18   32     4243  delete           sess1       Session::Close   (double free)
//   19   40     4243  thread_exit
//   20   41     4244  thread_exit
//   21   50     4242  process_exit     (status 0)
//
// Peak live: 4752 B at seq 15 (cfg + sess1 + sess2 + buf2); leaked: 4224 B
// in 2 blocks. Tokenize is inlined into ParseRequest (one physical frame).
//
// "before.db" is an earlier run for `atr diff`: LoadConfig took 2048 B,
// the second session was closed (no leak) and one request was tokenized.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "db/trace_writer.h"
#include "tests/e2e/golden_file.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

constexpr int32_t kPid = 4242;
constexpr int32_t kMain = 4242, kWorker1 = 4243, kWorker2 = 4244;

// Heap addresses (inside the process's [heap]).
constexpr uint64_t kConfig = 0x55555557a2a0;
constexpr uint64_t kName = 0x55555557b2b0;
constexpr uint64_t kSession1 = 0x55555557b2e0;
constexpr uint64_t kToken = 0x55555557b370;
constexpr uint64_t kSession2 = 0x7ffff0000b70;
constexpr uint64_t kBuffer = 0x7ffff0000c00;
constexpr uint64_t kBuffer2 = 0x7ffff0000c70;

// Leaf stack ids (stack_nodes below).
enum Stack : StackId {
  kNoStack = 0,
  kAtLoadConfig = 3,
  kAtStrdup = 4,
  kAtWorkerLoop = 11,
  kAtSessionOpen = 12,
  kAtTokenize = 13,
  kAtBufferGrow = 14,
  kAtSessionClose = 15,
};

enum class Version { kBefore, kAfter };

struct Event {
  int64_t ts_ns;
  int32_t tid;
  Op op;
  uint64_t addr;
  uint64_t size;
  uint64_t arg;
  StackId stack;
};

// The events of the table in the file comment (kAfter), or of the earlier
// run (kBefore); seq is the position in the list.
std::vector<Event> Events(Version v) {
  const bool after = v == Version::kAfter;
  std::vector<Event> e = {
      {0, kMain, Op::kProcessStart, 0, 0, 0, kNoStack},
      {1'000, kMain, Op::kMalloc, kConfig, after ? 4096u : 2048u, 0, kAtLoadConfig},
      {2'000, kMain, Op::kMalloc, kName, 32, 0, kAtStrdup},
      {3'000, kMain, Op::kFree, kName, 0, 0, kAtLoadConfig},
      {5'000, kWorker1, Op::kThreadStart, 0, 0, kMain, kNoStack},
      {6'000, kWorker2, Op::kThreadStart, 0, 0, kMain, kNoStack},
      {10'000, kWorker1, Op::kNew, kSession1, 128, 0, kAtSessionOpen},
      {11'000, kWorker1, Op::kMalloc, kToken, 64, 0, kAtTokenize},
      {11'500, kWorker1, Op::kFree, kToken, 0, 0, kAtTokenize},
  };
  if (after) {
    e.push_back({12'000, kWorker1, Op::kMalloc, kToken, 64, 0, kAtTokenize});
    e.push_back({12'250, kWorker1, Op::kFree, kToken, 0, 0, kAtTokenize});
  }
  e.push_back({13'000, kWorker2, Op::kNew, kSession2, 128, 0, kAtSessionOpen});
  e.push_back({14'000, kWorker2, Op::kMalloc, kBuffer, 100, 0, kAtBufferGrow});
  e.push_back({20'000, kWorker2, Op::kReallocRelease, kBuffer, 0, 0, kAtBufferGrow});
  e.push_back({20'000, kWorker2, Op::kRealloc, kBuffer2, 400, kBuffer, kAtBufferGrow});
  e.push_back({30'000, kWorker1, Op::kDelete, kSession1, 0, 0, kAtSessionClose});
  e.push_back({31'000, kWorker2, Op::kFree, kBuffer2, 0, 0, kAtWorkerLoop});
  if (after) {
    e.push_back({32'000, kWorker1, Op::kDelete, kSession1, 0, 0, kAtSessionClose});
  } else {
    e.push_back({32'000, kWorker2, Op::kDelete, kSession2, 0, 0, kAtSessionClose});
  }
  e.push_back({40'000, kWorker1, Op::kThreadExit, 0, 0, 0, kNoStack});
  e.push_back({41'000, kWorker2, Op::kThreadExit, 0, 0, 0, kNoStack});
  e.push_back({50'000, kMain, Op::kProcessExit, 0, 0, 0, kNoStack});
  return e;
}

// Everything `atr record` writes besides the events, with fixed values: the
// process, threads, modules, symbolized frames, the stack trie and the
// trace-level meta keys (docs/trace-format.md). TraceWriter::Finish() then
// runs the allocation pass and marks the trace complete, as it does for a
// recording.
void WriteGoldenTrace(const std::string& path, Version v) {
  absl::StatusOr<std::unique_ptr<TraceWriter>> w = TraceWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  TraceWriter& t = **w;
  const std::vector<Event> events = Events(v);
  const int64_t last_seq = static_cast<int64_t>(events.size());
  const std::vector<std::string> argv = {"/usr/bin/server", "--port", "8080"};

  std::set<StackId> stacks;
  for (const Event& e : events) {
    if (e.stack != kNoStack) stacks.insert(e.stack);
  }
  ASSERT_TRUE(t.SetMetaList("argv", argv).ok());
  ASSERT_TRUE(t.SetMeta("cwd", "/srv").ok());
  ASSERT_TRUE(t.SetMeta("host", "golden").ok());
  ASSERT_TRUE(t.SetMeta("kernel", "Linux 6.1.0-18-amd64 x86_64").ok());
  ASSERT_TRUE(t.SetMetaInt("page_size", 4096).ok());
  ASSERT_TRUE(t.SetMeta("start_time_utc", "2026-01-02T03:04:05.000000Z").ok());
  ASSERT_TRUE(t.SetMeta("end_time_utc", "2026-01-02T03:04:05.000052Z").ok());
  ASSERT_TRUE(t.SetMetaInt("duration_ns", 52'000).ok());
  ASSERT_TRUE(t.SetMeta("unwinder", "libunwind").ok());
  ASSERT_TRUE(t.SetMeta("clock", "rdtsc, converted to CLOCK_MONOTONIC").ok());
  ASSERT_TRUE(t.SetMetaInt("lost_events", 0).ok());
  ASSERT_TRUE(t.SetMetaInt("corrupt_chunks", 0).ok());
  ASSERT_TRUE(t.SetMetaInt("unknown_stacks", 0).ok());
  ASSERT_TRUE(t.SetMetaInt("distinct_stacks", static_cast<int64_t>(stacks.size())).ok());
  ASSERT_TRUE(t.SetMetaInt("recording_complete", 1).ok());

  ProcessRow process;
  process.pid = kPid;
  process.ppid = 1;
  process.exe = argv[0];
  process.argv = argv;
  process.cwd = "/srv";
  process.started_seq = 1;
  process.ended_seq = last_seq;
  process.started_ns = 0;
  process.ended_ns = events.back().ts_ns;
  process.exit_status = 0;
  ASSERT_TRUE(t.PutProcess(process).ok());
  auto thread = [&](int32_t tid, const char* name, int32_t creator) {
    ThreadRow row;
    row.pid = kPid;
    row.tid = tid;
    row.name = name;
    row.creator_tid = creator;
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].tid != tid) continue;
      if (events[i].op == Op::kThreadStart) row.started_seq = static_cast<int64_t>(i) + 1;
      if (events[i].op == Op::kThreadExit) row.ended_seq = static_cast<int64_t>(i) + 1;
    }
    ASSERT_TRUE(t.PutThread(row).ok());
  };
  thread(kMain, "server", 0);
  thread(kWorker1, "worker-1", kMain);
  thread(kWorker2, "worker-2", kMain);

  ModuleRow exe{.id = 1, .pid = kPid, .path = "/usr/bin/server", .build_id = "5eed0123",
                .bias = 0x555555554000, .lo = 0x555555554000, .hi = 0x55555556a000,
                .loaded_seq = 1, .unloaded_seq = std::nullopt};
  ModuleRow libc{.id = 2, .pid = kPid, .path = "/lib/x86_64-linux-gnu/libc.so.6",
                 .build_id = "c0ffee42", .bias = 0x7ffff7c00000, .lo = 0x7ffff7c00000,
                 .hi = 0x7ffff7e00000, .loaded_seq = 1, .unloaded_seq = std::nullopt};
  ASSERT_TRUE(t.PutModule(exe).ok());
  ASSERT_TRUE(t.PutModule(libc).ok());
  auto frame = [&](int64_t id, int64_t module, uint64_t rel_pc, const char* function,
                   const char* file, int32_t line) {
    FrameRow f;
    f.id = id;
    f.module_id = module;
    f.rel_pc = rel_pc;
    f.function = function;
    if (file != nullptr) {
      f.file = file;
      f.line = line;
    }
    ASSERT_TRUE(t.PutFrame(f).ok());
  };
  frame(1, 1, 0x2e51, "main", "/src/server/main.cc", 42);
  frame(2, 1, 0x3a17, "Server::Start()", "/src/server/server.cc", 17);
  frame(3, 1, 0x41c2, "LoadConfig(char const*)", "/src/server/config.cc", 88);
  frame(4, 2, 0x9e6c5, "strdup", nullptr, 0);
  frame(5, 2, 0x94ac3, "start_thread", nullptr, 0);
  frame(6, 1, 0x5b80, "WorkerLoop(int)", "/src/server/worker.cc", 30);
  frame(7, 1, 0x6234, "Session::Open(int)", "/src/server/session.cc", 21);
  frame(8, 1, 0x7012, "Tokenize(std::basic_string_view<char, std::char_traits<char> >)",
        "/src/server/parse.h", 12);
  frame(9, 1, 0x7f3d, "Buffer::Grow(unsigned long)", "/src/server/buffer.cc", 9);
  frame(10, 1, 0x6399, "Session::Close()", "/src/server/session.cc", 40);
  InlineFrameRow caller;
  caller.depth = 1;
  caller.function = "ParseRequest(Request&)";
  caller.file = "/src/server/parse.cc";
  caller.line = 55;
  ASSERT_TRUE(t.PutInlineFrames(8, {caller}).ok());
  // The trie: main > Server::Start > LoadConfig > strdup, and
  // start_thread > WorkerLoop > {Session::Open, Tokenize, Buffer::Grow, Session::Close}.
  for (StackNodeRow n : {StackNodeRow{1, 0, 1}, StackNodeRow{2, 1, 2}, StackNodeRow{3, 2, 3},
                         StackNodeRow{4, 3, 4}, StackNodeRow{10, 0, 5}, StackNodeRow{11, 10, 6},
                         StackNodeRow{12, 11, 7}, StackNodeRow{13, 11, 8},
                         StackNodeRow{14, 11, 9}, StackNodeRow{15, 11, 10}}) {
    ASSERT_TRUE(t.AddStackNode(n).ok());
  }

  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    EventRow row;
    row.seq = static_cast<int64_t>(i) + 1;
    row.ts_ns = e.ts_ns;
    row.pid = kPid;
    row.tid = e.tid;
    row.op = e.op;
    row.addr = e.addr;
    row.size = e.size;
    row.arg = e.arg;
    row.stack = e.stack;
    ASSERT_TRUE(t.AddEvent(row).ok());
  }
  absl::StatusOr<AllocationStats> stats = t.Finish();
  ASSERT_TRUE(stats.ok()) << stats.status();
}

std::string Hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

class GoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    WriteGoldenTrace(dir_->File("golden.db"), Version::kAfter);
    WriteGoldenTrace(dir_->File("before.db"), Version::kBefore);
  }
  static void TearDownTestSuite() { delete dir_; }

  // Runs `atr ARGS` in the traces' directory (reports name the trace as
  // given: "golden.db") and compares stdout with tests/golden/NAME, or
  // rewrites it in update mode. stderr must stay empty.
  static void ExpectGolden(const std::string& name, const std::vector<std::string>& args,
                           int exit_code = 0) {
    SCOPED_TRACE("golden file tests/golden/" + name);
    std::vector<std::string> argv = {AtrBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = RunCommand(argv, {}, dir_->path());
    EXPECT_EQ(r.exit_code, exit_code) << r.err;
    EXPECT_EQ(r.err, "");
    ExpectMatchesGolden(std::string(ATR_GOLDEN_DIR) + "/" + name, r.out);
  }

  // The same report as text, --json and --csv: NAME.txt, NAME.json, NAME.csv.
  static void ExpectAllFormats(const std::string& name, const std::vector<std::string>& args,
                               int exit_code = 0) {
    ExpectGolden(name + ".txt", args, exit_code);
    std::vector<std::string> json = args, csv = args;
    json.push_back("--json");
    csv.push_back("--csv");
    ExpectGolden(name + ".json", json, exit_code);
    ExpectGolden(name + ".csv", csv, exit_code);
  }

  static TempDir* dir_;
};
TempDir* GoldenTest::dir_ = nullptr;

TEST_F(GoldenTest, Info) {
  ExpectGolden("info.txt", {"info", "golden.db"});
  ExpectGolden("info.json", {"info", "golden.db", "--json"});
  ExpectGolden("info.csv", {"info", "golden.db", "--csv"});
}

TEST_F(GoldenTest, Leaks) {
  ExpectGolden("leaks.txt", {"leaks", "golden.db"});
  ExpectGolden("leaks.json", {"leaks", "golden.db", "--json"});
}

TEST_F(GoldenTest, Top) {
  ExpectAllFormats("top", {"top", "golden.db"});
  ExpectGolden("top-calls.txt", {"top", "golden.db", "--by", "calls"});
  ExpectGolden("top-peak.txt", {"top", "golden.db", "--by", "peak"});
  ExpectGolden("top-leaked.txt", {"top", "golden.db", "--by", "leaked"});
}

TEST_F(GoldenTest, Temporaries) { ExpectAllFormats("temp", {"temp", "golden.db"}); }

TEST_F(GoldenTest, Lifetimes) { ExpectAllFormats("lifetimes", {"lifetimes", "golden.db"}); }

TEST_F(GoldenTest, Sizes) { ExpectAllFormats("sizes", {"sizes", "golden.db"}); }

TEST_F(GoldenTest, WhoHeldAReusedAddress) {
  // The token buffer's address was handed out twice; at seq 10 the second
  // allocation holds it.
  ExpectAllFormats("who", {"who", "golden.db", Hex(kToken + 8), "--at", "10"});
}

TEST_F(GoldenTest, WhoAtTheEnd) {
  ExpectGolden("who-leaked.txt", {"who", "golden.db", Hex(kSession2)});
  ExpectGolden("who-freed.txt", {"who", "golden.db", Hex(kSession1 + 127)});
}

TEST_F(GoldenTest, Timeline) { ExpectAllFormats("timeline", {"timeline", "golden.db", "--points", "8"}); }

TEST_F(GoldenTest, Diff) { ExpectAllFormats("diff", {"diff", "before.db", "golden.db"}); }

TEST_F(GoldenTest, Check) {
  // One double free and two leaks: exit status 3.
  ExpectAllFormats("check", {"check", "golden.db"}, 3);
}

}  // namespace
}  // namespace atr::testing
