#include "db/trace_writer.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "db/db_test_util.h"
#include "db/trace_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::FreshPath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<TraceWriter> MustCreate(const std::string& path, TraceWriterOptions o = {}) {
  absl::StatusOr<std::unique_ptr<TraceWriter>> w = TraceWriter::Create(path, o);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? *std::move(w) : nullptr;
}

TraceReader MustOpen(const std::string& path) {
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

std::vector<EventRow> ReadEvents(const TraceReader& r, EventFilter f = {}) {
  absl::StatusOr<EventCursor> c = r.Events(f);
  EXPECT_TRUE(c.ok()) << c.status();
  std::vector<EventRow> out;
  EventRow e;
  while (c->Next(&e)) out.push_back(e);
  EXPECT_TRUE(c->status().ok()) << c->status();
  return out;
}

TEST(TraceWriter, RoundTripsEveryTable) {
  std::string path = FreshPath("t.db");
  auto w = MustCreate(path);
  ASSERT_TRUE(w);

  ProcessRow p{.pid = 100, .image = 0, .ppid = 1, .exe = "/bin/server",
               .argv = std::vector<std::string>{"server", "--port=80", "a b"},
               .cwd = "/srv", .started_seq = 1, .ended_seq = 9, .started_ns = 0,
               .ended_ns = 5000, .exit_status = 3, .exit_signal = std::nullopt};
  ThreadRow t1{.pid = 100, .tid = 100, .name = "server", .creator_tid = 0, .started_seq = 1,
               .ended_seq = 9, .stack_lo = 0x7ffd'0000'0000, .stack_hi = 0x7ffd'0080'0000};
  ThreadRow t2{.pid = 100, .tid = 101, .name = "worker", .creator_tid = 100, .started_seq = 3};
  ModuleRow m{.id = 1, .pid = 100, .path = "/bin/server", .build_id = "abcdef01",
              .bias = 0x5555'5555'4000, .lo = 0x5555'5555'4000, .hi = 0x5555'5556'0000,
              .loaded_seq = 0};
  FrameRow f1{.id = 1, .module_id = 1, .rel_pc = 0x1136, .function = "main", .file = "main.cc",
              .line = 12, .column = 3, .frame_size = 48};
  FrameRow f2{.id = 2, .module_id = 0, .rel_pc = 0x7f00'1234'5678};
  std::vector<InlineFrameRow> inl = {
      {.depth = 1, .function = "Outer()", .file = "a.h", .line = 5, .column = 1},
      {.depth = 2, .function = "Outermost()", .file = "b.h", .line = 7}};
  std::vector<EventRow> events = {
      {.seq = 1, .ts_ns = 0, .pid = 100, .tid = 100, .op = Op::kProcessStart},
      {.seq = 2, .ts_ns = 10, .pid = 100, .tid = 100, .op = Op::kMalloc, .addr = 0x5555'0000'1000,
       .size = 24, .stack = 2, .sp_depth = 4096},
      {.seq = 3, .ts_ns = 20, .pid = 100, .tid = 101, .op = Op::kThreadStart, .arg = 100},
      {.seq = 4, .ts_ns = 30, .pid = 100, .tid = 101, .op = Op::kNewAligned,
       .addr = 0x7f00'0000'0040, .size = 100, .arg = 64, .stack = 1, .sp_depth = 80},
      {.seq = 5, .ts_ns = 40, .pid = 100, .tid = 100, .op = Op::kFree, .addr = 0x5555'0000'1000},
      {.seq = 6, .ts_ns = 50, .pid = 100, .tid = 100, .op = Op::kSbrk, .addr = 0x5555'0001'0000,
       .size = static_cast<uint64_t>(-4096)},
      {.seq = 7, .ts_ns = 60, .pid = 100, .tid = 100, .op = Op::kMmap,
       .addr = 0xffff'ffff'ffff'f000ull, .size = 1 << 20, .arg = kMapAnonymous},
  };

  ASSERT_TRUE(w->SetMeta("host", "box").ok());
  ASSERT_TRUE(w->SetMetaInt("page_size", 4096).ok());
  ASSERT_TRUE(w->SetMetaList("argv", {"server", "--port=80"}).ok());
  ASSERT_TRUE(w->PutProcess(p).ok());
  ASSERT_TRUE(w->PutThread(t1).ok());
  ASSERT_TRUE(w->PutThread(t2).ok());
  ASSERT_TRUE(w->PutModule(m).ok());
  ASSERT_TRUE(w->PutFrame(f1).ok());
  ASSERT_TRUE(w->PutFrame(f2).ok());
  ASSERT_TRUE(w->PutInlineFrames(1, inl).ok());
  ASSERT_TRUE(w->AddStackNode({.id = 1, .parent = 0, .frame = 1}).ok());
  ASSERT_TRUE(w->AddStackNode({.id = 2, .parent = 1, .frame = 2}).ok());
  ASSERT_TRUE(w->AddEvents(events).ok());
  absl::StatusOr<AllocationStats> stats = w->Finish();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->allocations, 2);
  EXPECT_EQ(stats->releases, 1);
  EXPECT_EQ(stats->leaked, 1);

  TraceReader r = MustOpen(path);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.schema_version(), kTraceSchemaVersion);
  EXPECT_EQ(r.Meta("host"), "box");
  EXPECT_EQ(r.MetaInt("page_size"), 4096);
  EXPECT_EQ(r.MetaList("argv"), (std::vector<std::string>{"server", "--port=80"}));
  EXPECT_EQ(r.MetaInt("event_count"), 7);
  EXPECT_EQ(r.MetaInt("alloc_leaked"), 1);

  absl::StatusOr<std::vector<ProcessRow>> procs = r.Processes();
  ASSERT_TRUE(procs.ok());
  ASSERT_EQ(procs->size(), 1u);
  p.id = (*procs)[0].id;
  EXPECT_EQ((*procs)[0], p);

  absl::StatusOr<std::vector<ThreadRow>> threads = r.Threads();
  ASSERT_TRUE(threads.ok());
  ASSERT_EQ(threads->size(), 2u);
  t1.id = (*threads)[0].id;
  t2.id = (*threads)[1].id;
  EXPECT_EQ((*threads)[0], t1);
  EXPECT_EQ((*threads)[1], t2);

  absl::StatusOr<std::vector<ModuleRow>> mods = r.Modules();
  ASSERT_TRUE(mods.ok());
  EXPECT_THAT(*mods, ElementsAre(m));
  absl::StatusOr<std::vector<FrameRow>> frames = r.Frames();
  ASSERT_TRUE(frames.ok());
  EXPECT_THAT(*frames, ElementsAre(f1, f2));
  absl::StatusOr<std::vector<StackNodeRow>> nodes = r.StackNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_THAT(*nodes, ElementsAre(StackNodeRow{1, 0, 1}, StackNodeRow{2, 1, 2}));

  std::vector<EventRow> back = ReadEvents(r);
  ASSERT_EQ(back.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].thread = back[i].thread;
    EXPECT_EQ(back[i], events[i]) << "event " << i;
  }

  absl::StatusOr<std::vector<const Frame*>> walk = r.StackFrames(2);
  ASSERT_TRUE(walk.ok()) << walk.status();
  ASSERT_EQ(walk->size(), 2u);
  EXPECT_EQ((*walk)[0]->row, f2);  // innermost first
  EXPECT_EQ((*walk)[1]->row, f1);
  EXPECT_EQ((*walk)[1]->inlined, inl);
  absl::StatusOr<std::vector<const Frame*>> empty = r.StackFrames(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(TraceWriter, UpsertsKeepEarlierFacts) {
  std::string path = FreshPath("t.db");
  auto w = MustCreate(path);
  ASSERT_TRUE(w->PutThread({.pid = 5, .tid = 6, .name = "a", .started_seq = 2}).ok());
  ASSERT_TRUE(w->PutThread({.pid = 5, .tid = 6, .ended_seq = 9}).ok());
  ASSERT_TRUE(w->PutProcess({.pid = 5, .exe = "/x", .started_seq = 1}).ok());
  ASSERT_TRUE(w->PutProcess({.pid = 5, .exit_status = 0}).ok());
  ASSERT_TRUE(w->PutFrame({.id = 3, .module_id = 0, .rel_pc = 0x10, .frame_size = 32}).ok());
  ASSERT_TRUE(w->PutFrame({.id = 3, .module_id = 0, .rel_pc = 0x10, .function = "f"}).ok());
  ASSERT_TRUE(w->Finish().ok());
  TraceReader r = MustOpen(path);
  auto threads = r.Threads();
  ASSERT_EQ(threads->size(), 1u);
  EXPECT_EQ((*threads)[0].name, "a");
  EXPECT_EQ((*threads)[0].started_seq, 2);
  EXPECT_EQ((*threads)[0].ended_seq, 9);
  auto procs = r.Processes();
  ASSERT_EQ(procs->size(), 1u);
  EXPECT_EQ((*procs)[0].exe, "/x");
  EXPECT_EQ((*procs)[0].exit_status, 0);
  auto frames = r.Frames();
  ASSERT_EQ(frames->size(), 1u);
  EXPECT_EQ((*frames)[0].function, "f");
  EXPECT_EQ((*frames)[0].frame_size, 32);
}

TEST(TraceWriter, AcceptsOutOfOrderBatches) {
  std::string path = FreshPath("t.db");
  // Small transactions so late rows land below already committed ones.
  auto w = MustCreate(path, {.commit_every_events = 7});
  std::vector<int64_t> seqs(1000);
  for (int i = 0; i < 1000; ++i) seqs[i] = i + 1;
  // Batches of 64 sorted within, shuffled across, like a collector fed by
  // threads that flush at different times.
  std::mt19937 rng(7);
  std::vector<std::vector<int64_t>> batches;
  for (size_t i = 0; i < seqs.size(); i += 64) {
    batches.emplace_back(seqs.begin() + i, seqs.begin() + std::min(seqs.size(), i + 64));
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  for (const auto& b : batches) {
    for (int64_t s : b) {
      ASSERT_TRUE(w->AddEvent({.seq = s, .ts_ns = s * 3, .pid = 1, .tid = static_cast<int32_t>(s % 3),
                               .op = Op::kMalloc, .addr = static_cast<uint64_t>(s) << 4, .size = 8})
                      .ok());
    }
    ASSERT_TRUE(w->Flush().ok());
  }
  ASSERT_TRUE(w->Finish().ok());
  TraceReader r = MustOpen(path);
  std::vector<EventRow> back = ReadEvents(r);
  ASSERT_EQ(back.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(back[i].seq, i + 1);
    EXPECT_EQ(back[i].ts_ns, (i + 1) * 3);
    EXPECT_EQ(back[i].tid, (i + 1) % 3);
  }
  // Range and pid filters.
  std::vector<EventRow> mid = ReadEvents(r, {.first_seq = 10, .last_seq = 19});
  ASSERT_EQ(mid.size(), 10u);
  EXPECT_EQ(mid.front().seq, 10);
  EXPECT_TRUE(ReadEvents(r, {.pid = 2}).empty());
  EXPECT_EQ(ReadEvents(r, {.pid = 1}).size(), 1000u);
  EXPECT_EQ(*r.CountEvents(), 1000);
}

// Releases found after their allocations' rows were inserted (the Flush
// between them) go to late_frees through the batched insert: more than one
// full batch plus a partial one, in shuffled release order, each paired
// with its own release.
TEST(TraceWriter, LateFreesPairEveryAllocation) {
  std::string path = FreshPath("t.db");
  auto w = MustCreate(path);
  constexpr int kBlocks = 123;
  for (int i = 1; i <= kBlocks; ++i) {
    ASSERT_TRUE(w->AddEvent({.seq = i, .pid = 1, .tid = 1, .op = Op::kMalloc,
                             .addr = static_cast<uint64_t>(i) << 4, .size = 8})
                    .ok());
  }
  ASSERT_TRUE(w->Flush().ok());
  std::vector<int> order(kBlocks);
  for (int i = 0; i < kBlocks; ++i) order[i] = i + 1;
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  int64_t seq = kBlocks;
  std::vector<int64_t> freed_at(kBlocks + 1);
  for (int block : order) {
    freed_at[block] = ++seq;
    ASSERT_TRUE(w->AddEvent({.seq = seq, .pid = 1, .tid = 1, .op = Op::kFree,
                             .addr = static_cast<uint64_t>(block) << 4})
                    .ok());
  }
  ASSERT_TRUE(w->Finish().ok());
  TraceReader r = MustOpen(path);
  absl::StatusOr<AllocationCursor> c = r.Allocations();
  ASSERT_TRUE(c.ok()) << c.status();
  AllocationRow a;
  int n = 0;
  while (c->Next(&a)) {
    ++n;
    ASSERT_GE(a.alloc_seq, 1);
    ASSERT_LE(a.alloc_seq, kBlocks);
    EXPECT_EQ(a.free_seq, freed_at[a.alloc_seq]) << "block " << a.alloc_seq;
  }
  EXPECT_EQ(n, kBlocks);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM late_frees", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), kBlocks);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(TraceWriter, DuplicateSeqIsAnError) {
  std::string path = FreshPath("t.db");
  auto w = MustCreate(path);
  ASSERT_TRUE(w->AddEvent({.seq = 5, .pid = 1, .tid = 1}).ok());
  ASSERT_TRUE(w->AddEvent({.seq = 5, .pid = 1, .tid = 1}).ok());  // buffered
  absl::Status s = w->Flush();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("UNIQUE"));
  EXPECT_THAT(s.message(), HasSubstr(path));
}

TEST(TraceWriter, RejectsBadEvents) {
  auto w = MustCreate(FreshPath("t.db"));
  EXPECT_FALSE(w->AddEvent({.seq = 0, .pid = 1, .tid = 1}).ok());
  EXPECT_FALSE(w->AddEvent({.seq = 1, .pid = 1, .tid = 1, .op = static_cast<Op>(200)}).ok());
  EXPECT_FALSE(w->AddStackNode({.id = 0, .frame = 1}).ok());
}

TEST(TraceWriter, CreatesFileWithMode0600) {
  std::string path = FreshPath("t.db");
  mode_t old = umask(0);  // the mode must not depend on the umask
  auto w = MustCreate(path);
  umask(old);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(w->Finish().ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The rollback journal is gone after Finish.
  EXPECT_NE(access((path + "-journal").c_str(), F_OK), 0);
}

TEST(TraceWriter, RefusesToOverwriteUnlessAsked) {
  std::string path = FreshPath("t.db");
  ASSERT_TRUE(MustCreate(path)->Finish().ok());
  absl::StatusOr<std::unique_ptr<TraceWriter>> again = TraceWriter::Create(path);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("already exists"));
  auto w = MustCreate(path, {.overwrite = true});
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->AddEvent({.seq = 1, .pid = 1, .tid = 1}).ok());
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(*MustOpen(path).CountEvents(), 1);
}

TEST(TraceWriter, UnwritablePathFailsClearly) {
  absl::StatusOr<std::unique_ptr<TraceWriter>> w =
      TraceWriter::Create("/nonexistent-dir/sub/run.db");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "/nonexistent-dir/sub/run.db: cannot create: No such file or directory");
}

TEST(TraceWriter, WritesAfterFinishFail) {
  auto w = MustCreate(FreshPath("t.db"));
  ASSERT_TRUE(w->Finish().ok());
  absl::Status s = w->AddEvent({.seq = 1, .pid = 1, .tid = 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(w->Finish().ok());
}

TEST(TraceWriter, DestroyedWithoutFinishLeavesIncompleteReadableTrace) {
  std::string path = FreshPath("t.db");
  {
    auto w = MustCreate(path);
    for (int i = 1; i <= 123; ++i) ASSERT_TRUE(w->AddEvent({.seq = i, .pid = 1, .tid = 1}).ok());
  }
  TraceReader r = MustOpen(path);
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(*r.CountEvents(), 123);
}

// A collector killed with SIGKILL in the middle of a transaction big enough
// to spill pages into the file: the next open rolls the journal back and
// sees exactly what was flushed.
TEST(TraceWriter, SigkilledWriterLeavesOpenableTrace) {
  std::string path = FreshPath("t.db");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto w = TraceWriter::Create(path, {.commit_every_events = 1 << 30, .cache_mib = 1});
    if (!w.ok()) _exit(1);
    for (int i = 1; i <= 1000; ++i) {
      if (!(*w)->AddEvent({.seq = i, .pid = 1, .tid = 1, .op = Op::kMalloc, .size = 8}).ok()) {
        _exit(2);
      }
    }
    if (!(*w)->Flush().ok()) _exit(3);
    // More than the online pairing's windows hold back (db/online_pairing.h).
    for (int i = 1001; i <= 700000; ++i) {
      (void)(*w)->AddEvent({.seq = i, .pid = 1, .tid = 1, .op = Op::kMalloc,
                            .addr = static_cast<uint64_t>(i) << 20, .size = 8});
    }
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  struct stat st;
  // The spill left a hot journal behind (else the test proves less).
  ASSERT_EQ(stat((path + "-journal").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  TraceReader r = MustOpen(path);
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(*r.CountEvents(), 1000);
}

}  // namespace
}  // namespace atr
