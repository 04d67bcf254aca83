// End-to-end: `atr record --stack-ops` on a -finstrument-functions program
// with known recursion, a known large frame, an alloca and a thread with a
// small stack (tests/programs/stack_ops.c), then `atr stack` and `atr
// replay --stack-size`.
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "analysis/reports/stack_depth_report.h"
#include "db/query.h"
#include "db/trace_reader.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

class StackOpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trace_ = new std::string(dir_->File("stack.db"));
    CommandResult r = RunCommand({AtrBinary(), "record", "-q", "--stack-ops", "-o", *trace_, "--",
                                  ProgramPath("stack_ops")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete trace_;
    delete dir_;
  }
  void SetUp() override {
    absl::StatusOr<TraceReader> r = TraceReader::Open(*trace_);
    ASSERT_TRUE(r.ok()) << r.status();
    reader_ = std::make_unique<TraceReader>(std::move(*r));
  }
  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(*reader_, sql);
    EXPECT_TRUE(q.ok()) << q.status();
    if (!q.ok()) return out;
    while (q->Next()) {
      std::vector<std::string> row;
      for (int i = 0; i < q->columns(); ++i) row.push_back(q->Text(i));
      out.push_back(row);
    }
    EXPECT_TRUE(q->status().ok()) << q->status();
    return out;
  }
  int64_t Int(const std::string& sql) {
    auto rows = Rows(sql);
    return rows.empty() ? -1 : std::stoll(rows[0][0]);
  }
  int32_t WorkerTid() {
    return static_cast<int32_t>(Int("SELECT tid FROM threads WHERE creator_tid != 0 LIMIT 1"));
  }
  std::vector<std::string> PathFunctions(const std::vector<StackPathFrame>& path) {
    std::vector<std::string> out;
    for (const StackPathFrame& f : path) out.push_back(f.function);
    return out;
  }

  static TempDir* dir_;
  static std::string* trace_;
  std::unique_ptr<TraceReader> reader_;
};
TempDir* StackOpsTest::dir_ = nullptr;
std::string* StackOpsTest::trace_ = nullptr;

TEST_F(StackOpsTest, ExactCallsPerFunction) {
  absl::flat_hash_map<std::string, int64_t> enters;
  for (auto& row : Rows("SELECT f.function, count(*) FROM events e JOIN stacks s ON s.id = e.stack "
                        "JOIN frames f ON f.id = s.frame WHERE e.op = 80 GROUP BY 1")) {
    enters[row[0]] = std::stoll(row[1]);
  }
  EXPECT_EQ(enters["main"], 1);
  EXPECT_EQ(enters["big_frame"], 1);
  EXPECT_EQ(enters["recurse"], 27);
  EXPECT_EQ(enters["use_alloca"], 1);
  EXPECT_EQ(enters["worker_main"], 1);
  EXPECT_EQ(enters["thread_recurse"], 101);
  EXPECT_EQ(Int("SELECT count(*) FROM events WHERE op = 80"),
            Int("SELECT count(*) FROM events WHERE op = 81"));
  // Every exit carries the stack of the enter it closes.
  EXPECT_EQ(Int("SELECT count(*) FROM events WHERE op IN (80, 81) AND stack IS NULL"), 0);
  // Enter/exit seqs come from per-thread seq blocks (hooks_stack_ops.cc):
  // per thread, seq order is still time order, heap events included.
  EXPECT_EQ(Int("SELECT count(*) FROM (SELECT ts_ns, lag(ts_ns) OVER (PARTITION BY pid, tid "
                "ORDER BY seq) AS prev FROM events) WHERE ts_ns < prev"),
            0);
  // recurse(0) and thread_recurse(0): enter, malloc(100), free, exit, in
  // that seq order on their thread.
  EXPECT_EQ(Int("SELECT count(*) FROM (SELECT op, size, lag(op) OVER w AS prev, "
                "lead(op, 2) OVER w AS after_free FROM events "
                "WINDOW w AS (PARTITION BY pid, tid ORDER BY seq)) "
                "WHERE op = 1 AND size = 100 AND prev = 80 AND after_free = 81"),
            3);

  absl::StatusOr<StackDepthReport> r = ComputeStackDepthReport(*reader_, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->stack_ops);
  EXPECT_EQ(r->unmatched_exits, 0);
  absl::flat_hash_map<std::string, FunctionStackStats> by_name;
  for (const FunctionStackRow& f : r->functions) by_name[f.function] = f.stats;
  EXPECT_EQ(by_name["recurse"].calls, 27);
  EXPECT_EQ(by_name["recurse"].max_recursion, 21u);
  EXPECT_EQ(by_name["thread_recurse"].calls, 101);
  EXPECT_EQ(by_name["thread_recurse"].max_recursion, 101u);
  EXPECT_EQ(by_name["big_frame"].unfinished, 0);
  EXPECT_GE(by_name["main"].inclusive_ns, by_name["big_frame"].inclusive_ns);
  EXPECT_GE(by_name["big_frame"].max_depth_inside, 8192u);
}

TEST_F(StackOpsTest, ThreadStackBounds) {
  int32_t worker = WorkerTid();
  int64_t size = Int(absl::StrCat("SELECT stack_hi - stack_lo FROM threads WHERE tid = ", worker));
  // pthread_attr_setstacksize(64 KiB): glibc reports the block minus its guard page.
  EXPECT_GT(size, 56 * 1024);
  EXPECT_LE(size, 64 * 1024);
  int64_t main_size = Int("SELECT stack_hi - stack_lo FROM threads WHERE creator_tid = 0");
  EXPECT_GE(main_size, 1 << 20);  // the main thread: RLIMIT_STACK-sized
}

TEST_F(StackOpsTest, AllocationStacksComeFromTheShadowStack) {
  // The 100-byte malloc of recurse(0) under big_frame: innermost first,
  // recurse x21 (the call site in recurse(0), then 20 recursive call sites),
  // big_frame, main.
  auto rows = Rows("SELECT e.stack FROM events e WHERE e.op = 1 AND e.size = 100 AND "
                   "e.tid = (SELECT tid FROM threads WHERE creator_tid = 0) ORDER BY seq LIMIT 1");
  ASSERT_EQ(rows.size(), 1u);
  absl::StatusOr<std::vector<const Frame*>> frames = reader_->StackFrames(std::stoll(rows[0][0]));
  ASSERT_TRUE(frames.ok()) << frames.status();
  std::vector<std::string> names;
  for (const Frame* f : *frames) names.push_back(f->row.function.value_or("??"));
  ASSERT_GE(names.size(), 23u);
  for (int i = 0; i < 21; ++i) EXPECT_EQ(names[i], "recurse") << i;
  EXPECT_EQ(names[21], "big_frame");
  EXPECT_EQ(names[22], "main");
  // Every return address of the path names the call before it.
  for (size_t i = 0; i < 23; ++i) {
    ASSERT_TRUE((*frames)[i]->row.call_insn.has_value()) << i;
    EXPECT_EQ((*frames)[i]->row.call_insn->substr(0, 4), "call");
  }
}

TEST_F(StackOpsTest, DeepestPathAndFrameSizes) {
  absl::StatusOr<StackDepthReport> r = ComputeStackDepthReport(*reader_, {.limit = 0});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->threads.size(), 2u);
  const ThreadStackDepthReport& main_thread =
      r->threads[0].thread.creator_tid.value_or(0) == 0 ? r->threads[0] : r->threads[1];
  std::vector<std::string> path = PathFunctions(main_thread.deepest_path);
  ASSERT_GE(path.size(), 23u);
  for (int i = 0; i < 21; ++i) EXPECT_EQ(path[i], "recurse") << i;
  EXPECT_EQ(path[21], "big_frame");
  EXPECT_EQ(path[22], "main");
  EXPECT_EQ(main_thread.deepest_recursion, 21u);
  EXPECT_EQ(main_thread.deepest_recursion_function, "recurse");
  ASSERT_TRUE(main_thread.deepest_path[21].frame_size.has_value());
  EXPECT_GE(*main_thread.deepest_path[21].frame_size, 8192);
  ASSERT_TRUE(main_thread.stack_bytes.has_value());
  EXPECT_GT(main_thread.state.max.depth, 8192u);
  EXPECT_LT(main_thread.state.max.depth, *main_thread.stack_bytes);
  // The largest frame is big_frame's; use_alloca is the dynamic one.
  ASSERT_FALSE(r->largest_frames.empty());
  EXPECT_EQ(r->largest_frames[0].function, "big_frame");
  bool alloca_dynamic = false;
  for (const FrameSizeRow& f : r->dynamic_frames) alloca_dynamic |= f.function == "use_alloca";
  EXPECT_TRUE(alloca_dynamic);
  // Frame sizes agree with the depth the recursion really took: each
  // recurse level costs its frame plus the return address.
  auto depths = Rows("SELECT sp_depth FROM events e JOIN stacks s ON s.id = e.stack JOIN frames f "
                     "ON f.id = s.frame WHERE e.op = 80 AND f.function = 'recurse' AND "
                     "e.tid = (SELECT tid FROM threads WHERE creator_tid = 0) ORDER BY seq LIMIT 2");
  ASSERT_EQ(depths.size(), 2u);
  EXPECT_EQ(std::stoll(depths[1][0]) - std::stoll(depths[0][0]),
            *main_thread.deepest_path[0].frame_size + 8);
}

TEST_F(StackOpsTest, OverflowPointOfATooSmallStack) {
  int32_t worker = WorkerTid();
  int64_t max_depth = Int(absl::StrCat("SELECT max(sp_depth) FROM events WHERE tid = ", worker));
  ASSERT_GT(max_depth, 12 * 1024);  // 101 frames of >= 128 bytes
  uint64_t limit = static_cast<uint64_t>(max_depth / 2);
  absl::StatusOr<StackDepthReport> r = ComputeStackDepthReport(*reader_, {.stack_size = limit});
  ASSERT_TRUE(r.ok()) << r.status();
  const ThreadStackDepthReport* t = nullptr;
  for (const ThreadStackDepthReport& x : r->threads) {
    if (x.thread.tid == worker) t = &x;
  }
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->state.overflow.has_value());
  EXPECT_EQ(t->state.overflow->seq,
            Int(absl::StrCat("SELECT min(seq) FROM events WHERE tid = ", worker,
                             " AND sp_depth > ", limit)));
  std::vector<std::string> path = PathFunctions(t->overflow_path);
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], "thread_recurse");
  EXPECT_EQ(std::count(path.begin(), path.end(), "worker_main"), 1);
  // A stack as large as the deepest point does not overflow.
  r = ComputeStackDepthReport(*reader_, {.stack_size = static_cast<uint64_t>(max_depth)});
  ASSERT_TRUE(r.ok());
  for (const ThreadStackDepthReport& x : r->threads) EXPECT_FALSE(x.state.overflow.has_value());

  CommandResult cli = RunCommand({AtrBinary(), "stack", *trace_, "--stack-size",
                                  absl::StrCat(limit)});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("overflows first at seq " +
                         std::to_string(t->state.overflow->seq)), std::string::npos)
      << cli.out;
  CommandResult json = RunCommand({AtrBinary(), "stack", *trace_, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"depth_source\":\"enter_exit\""), std::string::npos) << json.out;
}

// `atr replay --stack-size --csv`: tid -> overflow_seq ("" when none).
std::map<int32_t, std::string> ReplayOverflows(const std::string& trace, uint64_t size) {
  std::map<int32_t, std::string> out;
  CommandResult r = RunCommand({AtrBinary(), "replay", "-q", trace, "--stack-size",
                                absl::StrCat(size), "--csv"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_GE(lines.size(), 2u) << r.out;
  if (lines.empty()) return out;
  EXPECT_EQ(lines[0].substr(0, 50), "pid,tid,name,stack_bytes,max_depth,max_seq,stack_s");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ',');
    EXPECT_GE(f.size(), 11u) << lines[i];
    if (f.size() >= 8) out[std::stoi(f[1])] = f[7];
  }
  return out;
}

// `atr replay --stack-size` drives the same model in the heap replay's walk:
// the same first overflow per thread as `atr stack`, stored in the trace.
TEST_F(StackOpsTest, ReplayStackSizeFindsTheSameOverflowAsAtrStack) {
  int32_t worker = WorkerTid();
  int64_t max_depth = Int(absl::StrCat("SELECT max(sp_depth) FROM events WHERE tid = ", worker));
  uint64_t limit = static_cast<uint64_t>(max_depth / 2);
  absl::StatusOr<StackDepthReport> r = ComputeStackDepthReport(*reader_, {.stack_size = limit});
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<int32_t, std::string> replayed = ReplayOverflows(*trace_, limit);
  ASSERT_EQ(replayed.size(), r->threads.size());
  int overflows = 0;
  for (const ThreadStackDepthReport& t : r->threads) {
    ASSERT_TRUE(replayed.contains(t.thread.tid)) << t.thread.tid;
    std::string expected = t.state.overflow ? absl::StrCat(t.state.overflow->seq) : "";
    EXPECT_EQ(replayed[t.thread.tid], expected) << t.thread.tid;
    overflows += t.state.overflow ? 1 : 0;
  }
  EXPECT_EQ(overflows, 2);  // the main thread is deeper than the worker (big_frame)
  EXPECT_EQ(replayed[worker],
            absl::StrCat(Int(absl::StrCat("SELECT min(seq) FROM events WHERE tid = ", worker,
                                          " AND sp_depth > ", limit))));
  EXPECT_EQ(Int(absl::StrCat("SELECT overflow_seq FROM replay_stack_threads WHERE tid = ", worker,
                             " AND replay_id = (SELECT max(id) FROM replays)")),
            std::stoll(replayed[worker]));

  // Text: the overflow point and its path, innermost first.
  CommandResult text = RunCommand({AtrBinary(), "replay", "-q", "--no-store", *trace_,
                                   "--stack-size", absl::StrCat(limit)});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Stack depth: exact"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("overflows first at seq " + replayed[worker]), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("thread_recurse (x"), std::string::npos) << text.out;

  // A stack as large as the deepest point of any thread: no overflow.
  int64_t deepest = Int("SELECT max(sp_depth) FROM events");
  for (const auto& [tid, seq] : ReplayOverflows(*trace_, static_cast<uint64_t>(deepest))) {
    EXPECT_EQ(seq, "") << tid;
  }
  EXPECT_EQ(Int("SELECT count(*) FROM replay_stack_threads WHERE overflow_seq IS NOT NULL AND "
                "replay_id = (SELECT max(id) FROM replays)"),
            0);
  CommandResult json = RunCommand({AtrBinary(), "replay", "-q", "--no-store", *trace_,
                                   "--stack-size", "64K", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"stack\":{\"depth_source\":\"enter_exit\""), std::string::npos)
      << json.out;
  CommandResult bad = RunCommand({AtrBinary(), "replay", *trace_, "--stack-size", "64Q"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--stack-size 64Q"), std::string::npos) << bad.err;
}

TEST(StackPlainTest, WithoutInstrumentationOnlySampledDepth) {
  TempDir dir;
  std::string trace = dir.File("plain.db");
  CommandResult r = RunCommand({AtrBinary(), "record", "-q", "--stack-ops", "-o", trace, "--",
                                ProgramPath("stack_ops_plain")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult s = RunCommand({AtrBinary(), "stack", trace});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("sampled at recorded events only"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("max depth"), std::string::npos) << s.out;

  // The replay checks the sampled depths and says that is all it has.
  CommandResult rp = RunCommand({AtrBinary(), "replay", "-q", trace, "--stack-size", "1K"});
  ASSERT_EQ(rp.exit_code, 0) << rp.err;
  EXPECT_NE(rp.out.find("sampled at recorded events only"), std::string::npos) << rp.out;
  absl::StatusOr<TraceReader> reader = TraceReader::Open(trace);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<StackDepthReport> st = ComputeStackDepthReport(*reader, {.stack_size = 1024});
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_FALSE(st->threads.empty());
  ASSERT_TRUE(st->threads[0].state.overflow.has_value());
  EXPECT_NE(rp.out.find("overflows first at seq " +
                        std::to_string(st->threads[0].state.overflow->seq)),
            std::string::npos)
      << rp.out;
}

}  // namespace
}  // namespace atr::testing
