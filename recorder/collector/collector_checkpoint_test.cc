// Checkpoints: the collector commits with spool_progress rows and frees the
// committed spool prefix; a collector that dies between checkpoints leaves
// a trace that ImportSpool continues from the committed offsets, with the
// stacks defined in the freed prefix still resolved.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "db/query.h"
#include "db/trace_reader.h"
#include "gtest/gtest.h"
#include "recorder/collector/collector.h"
#include "recorder/collector/import_spool.h"
#include "recorder/collector/spool_progress.h"
#include "recorder/testdata/spool_chunk_builder.h"

namespace atr {
namespace {

using testing_spool::ChunkBuilder;

constexpr uint32_t kPid = 4242;
constexpr uint64_t kStackHash = 0xabcdef;
constexpr int kChunks = 40;
constexpr int kPairsPerChunk = 500;  // 56 KB of events per chunk

// One spool file: the first chunk holds the process record and the only
// stack definition; every chunk then has kPairsPerChunk malloc/free pairs
// naming that stack.
std::vector<std::vector<uint8_t>> SpoolChunks() {
  std::vector<std::vector<uint8_t>> chunks;
  uint64_t seq = 1;
  for (int c = 0; c < kChunks; ++c) {
    ChunkBuilder b(kPid, kPid);
    if (c == 0) {
      b.AddProcess(1, {"/bin/prog", "/", "prog"}, 1000, 5'000'000, 1'000'000'000);
      b.AddStack(kStackHash, {0x401000, 0x402000});
    }
    for (int i = 0; i < kPairsPerChunk; ++i) {
      uint64_t addr = 0x10000 + 64 * static_cast<uint64_t>(i);
      b.AddEvent(Op::kMalloc, seq++, addr, 48, kStackHash);
      b.AddEvent(Op::kFree, seq++, addr, 0, kStackHash);
    }
    chunks.push_back(b.Build());
  }
  return chunks;
}

int64_t QueryInt(const TraceReader& r, const std::string& sql) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(r, sql);
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok() || !q->Next()) return -1;
  return q->Int(0);
}

class CollectorCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/atr_collector_checkpoint.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    trace_ = dir_ + "/run.db";
    spool_ = trace_ + ".spool";
    ASSERT_EQ(mkdir(spool_.c_str(), 0700), 0);
    file_ = spool_ + "/" + std::to_string(kPid) + ".0.spool";
    fd_ = open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    close(fd_);
    std::filesystem::remove_all(dir_);
  }
  void Append(const std::vector<uint8_t>& chunk) {
    ASSERT_EQ(write(fd_, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
  }
  int64_t AllocatedBytes() const {
    struct stat st {};
    EXPECT_EQ(stat(file_.c_str(), &st), 0);
    return static_cast<int64_t>(st.st_blocks) * 512;
  }

  std::string dir_, trace_, spool_, file_;
  int fd_ = -1;
};

TEST_F(CollectorCheckpointTest, KilledCollectorsTraceIsContinuedFromTheCommittedOffset) {
  std::vector<std::vector<uint8_t>> chunks = SpoolChunks();
  const int committed_chunks = kChunks / 2;
  {
    TraceWriterOptions wo;
    wo.commit_on_flush_only = true;
    absl::StatusOr<std::unique_ptr<TraceWriter>> writer = TraceWriter::Create(trace_, wo);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE(StartSpoolProgress(**writer, 0).ok());
    // No checkpoint by event count: only when a Poll finds nothing new.
    Collector c(writer->get(), {.start_mono_ns = 0, .clock = TscClock(1.0), .checkpoints = true,
                                .checkpoint_events = int64_t{1} << 40});
    ASSERT_TRUE(c.DiscoverFiles(spool_).ok());
    for (int i = 0; i < committed_chunks; ++i) Append(chunks[i]);
    ASSERT_EQ(*c.Poll(), committed_chunks);
    ASSERT_EQ(c.stats().checkpoints, 0);
    ASSERT_EQ(*c.Poll(), 0);  // idle: checkpoint
    ASSERT_EQ(c.stats().checkpoints, 1);
    // The committed prefix is freed; only the last partial block stays.
    EXPECT_LT(AllocatedBytes(), 8192);
    EXPECT_GT(c.stats().spool_bytes_freed, int64_t{committed_chunks - 1} * kPairsPerChunk * 112);
    // More is read but never committed: the collector "dies" here (the
    // writer rolls back what no checkpoint covered).
    for (int i = committed_chunks; i < kChunks; ++i) Append(chunks[i]);
    ASSERT_GT(*c.Poll(), 0);
  }
  {
    absl::StatusOr<TraceReader> r = TraceReader::Open(trace_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM event_log"),
              int64_t{committed_chunks} * kPairsPerChunk * 2);
    EXPECT_EQ(QueryInt(*r, "SELECT committed_offset FROM spool_progress"),
              [&] {
                int64_t n = 0;
                for (int i = 0; i < committed_chunks; ++i) n += chunks[i].size();
                return n;
              }());
  }
  absl::StatusOr<ImportOutcome> out = ImportSpool({.spool_dir = spool_, .output = "",
                                                   .overwrite = false, .keep_spool = false,
                                                   .progress = false});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->continued);
  EXPECT_EQ(out->output, trace_);
  EXPECT_EQ(out->stats.events, int64_t{kChunks} * kPairsPerChunk * 2);
  absl::StatusOr<TraceReader> r = TraceReader::Open(trace_);
  ASSERT_TRUE(r.ok()) << r.status();
  const int64_t events = int64_t{kChunks} * kPairsPerChunk * 2;
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM event_log"), events);
  EXPECT_EQ(QueryInt(*r, "SELECT max(seq) FROM event_log"), events);
  // The stack was defined in the freed first chunk: still resolved.
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM event_log WHERE stack IS NULL"), 0);
  EXPECT_EQ(QueryInt(*r, "SELECT count(DISTINCT stack) FROM event_log"), 1);
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM frames"), 2);
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM allocations WHERE free_seq IS NOT NULL"),
            events / 2);
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM processes"), 1);
  EXPECT_EQ(r->MetaInt("complete"), 1);
  EXPECT_FALSE(std::filesystem::exists(spool_));
}

// A spool whose start went into a trace cannot make a new trace: it would
// silently miss that start.
TEST_F(CollectorCheckpointTest, FreedSpoolIsNotImportedIntoAnotherTrace) {
  for (const std::vector<uint8_t>& chunk : SpoolChunks()) Append(chunk);
  ASSERT_TRUE(ImportSpool({.spool_dir = spool_, .output = "", .overwrite = false,
                           .keep_spool = true, .progress = false})
                  .ok());
  absl::StatusOr<ImportOutcome> out = ImportSpool({.spool_dir = spool_,
                                                   .output = dir_ + "/other.db",
                                                   .overwrite = false, .keep_spool = true,
                                                   .progress = false});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/other.db"));
}

TEST_F(CollectorCheckpointTest, WholeSpoolImportsIntoANewTrace) {
  for (const std::vector<uint8_t>& chunk : SpoolChunks()) Append(chunk);
  absl::StatusOr<ImportOutcome> out = ImportSpool({.spool_dir = spool_, .output = "",
                                                   .overwrite = false, .keep_spool = true,
                                                   .progress = false});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->continued);
  absl::StatusOr<TraceReader> r = TraceReader::Open(trace_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM event_log"), int64_t{kChunks} * kPairsPerChunk * 2);
  // Import checkpoints too: the spool it read is freed as it goes.
  EXPECT_LT(AllocatedBytes(), 8192);
}

}  // namespace
}  // namespace atr
