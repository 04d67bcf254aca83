// End to end: a thread's chunk that starts in the middle of its buffer.
//
// tests/programs/mid_buffer_chunk.c makes the preload library write the
// worker thread's buffer out from another thread (a failed exec; exit())
// while the worker is blocked with events in it, then lets the worker go
// on. The worker's next chunk must open with a DeltaBaseRecord whose base
// continues the compact deltas (docs/recorder.md "Spool records"); the
// reader side is unit-tested in recorder/spool_reader_test.cc, this checks
// the writer and the reader together on a real program:
//
//   1. recorded with the preload library alone, the spool holds such a
//      chunk from the worker (the situation did happen);
//   2. `atr import` of that spool, and `atr record` of the same program,
//      give exact counts per op and thread, every free paired with its
//      malloc, seqs without gap or duplicate, nothing lost or corrupt.
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "db/query.h"
#include "db/trace_reader.h"
#include "recorder/spool_format.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

constexpr int64_t kFirst = 64, kSecond = 64;  // as in mid_buffer_chunk.c

int64_t QueryInt(TraceReader& reader, const std::string& sql) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(reader, sql);
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok() || !q->Next()) return -1;
  return q->Int(0);
}

// The tids of the chunks, in every spool file of `dir`, whose first record
// is a DeltaBaseRecord, i.e. chunks that start mid-buffer.
std::set<uint32_t> MidBufferChunkTids(const std::string& dir) {
  std::set<uint32_t> tids;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != spool::kSpoolSuffix) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t off = 0;
    while (off + sizeof(spool::ChunkHeader) <= data.size()) {
      spool::ChunkHeader h;
      std::memcpy(&h, data.data() + off, sizeof h);
      EXPECT_EQ(h.magic, spool::ChunkHeader::kMagic) << entry.path() << " at " << off;
      if (h.magic != spool::ChunkHeader::kMagic) break;
      const size_t records = off + sizeof h;
      if (h.payload_bytes >= sizeof(spool::RecordHeader) && records < data.size() &&
          static_cast<uint8_t>(data[records]) == spool::kDeltaBaseType) {
        tids.insert(h.tid);
      }
      off = records + h.payload_bytes;
    }
  }
  return tids;
}

// The checks every trace of the program must pass; returns the worker's tid.
int64_t CheckTrace(const std::string& path, const std::string& mode) {
  SCOPED_TRACE(path);
  absl::StatusOr<TraceReader> opened = TraceReader::Open(path);
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return -1;
  TraceReader& r = *opened;
  EXPECT_EQ(r.MetaInt("lost_events"), 0);
  EXPECT_EQ(r.MetaInt("corrupt_chunks"), 0);
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM processes"), 1);
  // Seqs: unique and without a gap (one event decoded from a wrong base
  // would land on another's seq, or leave a hole).
  EXPECT_EQ(QueryInt(r, "SELECT count(DISTINCT seq) FROM events"),
            QueryInt(r, "SELECT count(*) FROM events"));
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events"),
            QueryInt(r, "SELECT max(seq) - min(seq) + 1 FROM events"));

  // Every block of both phases: one thread, not main, allocated and freed
  // it (addresses decoded from a wrong base would leave frees unpaired).
  const int64_t worker = QueryInt(r, "SELECT min(tid) FROM events WHERE op = 1 AND size = 1000");
  const int64_t pid = QueryInt(r, "SELECT pid FROM processes");
  EXPECT_NE(worker, pid);
  const std::string w = std::to_string(worker);
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 1 AND size BETWEEN 1000 AND 1999 "
                        "AND tid = " + w),
            kFirst);
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 1 AND size BETWEEN 2000 AND 2999 "
                        "AND tid = " + w),
            kSecond);
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 1 AND size BETWEEN 1000 AND 2999"),
            kFirst + kSecond);
  EXPECT_EQ(QueryInt(r, "SELECT count(DISTINCT size) FROM allocations WHERE size BETWEEN 1000 AND "
                        "2999 AND free_seq IS NOT NULL AND alloc_tid = " + w + " AND free_tid = " +
                        w),
            kFirst + kSecond);
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM allocations WHERE size BETWEEN 1000 AND 2999"),
            kFirst + kSecond);
  EXPECT_EQ(r.MetaInt("alloc_unmatched_releases"), 0);
  // The worker's frees are exactly its blocks' frees: none unpaired, none twice.
  EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 5 AND tid = " + w + " AND seq IN "
                        "(SELECT free_seq FROM allocations WHERE size BETWEEN 1000 AND 2999)"),
            kFirst + kSecond);

  // The flush of every buffer came between the phases: the exec (recorded
  // before it, then again with ENOENT) or the process exit.
  const int64_t phase1_end =
      QueryInt(r, "SELECT max(seq) FROM events WHERE op = 1 AND size BETWEEN 1000 AND 1999");
  const int64_t phase2_start =
      QueryInt(r, "SELECT min(free_seq) FROM allocations WHERE size BETWEEN 1000 AND 1999");
  const std::string between = " AND seq > " + std::to_string(phase1_end) + " AND seq < " +
                              std::to_string(phase2_start);
  if (mode == "exec") {
    EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 63" + between), 2);
    EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 63 AND arg = 2"), 1);  // ENOENT
    EXPECT_EQ(QueryInt(r, "SELECT exit_status FROM processes"), 0);
  } else {
    EXPECT_EQ(QueryInt(r, "SELECT count(*) FROM events WHERE op = 69" + between), 1);
  }
  return worker;
}

class MidBufferChunkTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MidBufferChunkTest, PreloadAloneWritesADeltaBaseChunkThatImportsExactly) {
  TempDir dir;
  const std::string spool = dir.File("run.spool");
  ASSERT_EQ(mkdir(spool.c_str(), 0700), 0);
  CommandResult r = RunCommand({ProgramPath("mid_buffer_chunk"), GetParam()},
                               {"LD_PRELOAD=" + BuildDir() + "/lib/libatr_preload.so",
                                "ATR_SPOOL_DIR=" + spool});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Read before the import: it frees the spool as it goes.
  const std::set<uint32_t> tids = MidBufferChunkTids(spool);
  r = RunCommand({AtrBinary(), "import", spool});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int64_t worker = CheckTrace(dir.File("run"), GetParam());
  EXPECT_EQ(tids.count(static_cast<uint32_t>(worker)), 1u)
      << "no chunk of the worker starts mid-buffer; chunks that do: " << tids.size();
}

TEST_P(MidBufferChunkTest, RecordGivesExactCounts) {
  TempDir dir;
  const std::string trace = dir.File("run.db");
  CommandResult r = RunCommand({AtrBinary(), "record", "-q", "-o", trace, "--",
                                ProgramPath("mid_buffer_chunk"), GetParam()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckTrace(trace, GetParam());
}

INSTANTIATE_TEST_SUITE_P(FailedExec, MidBufferChunkTest, ::testing::Values("exec"));
// exit(): the worker keeps recording while exit() runs, each event written
// through; its last free must not stay behind in a buffer nobody flushes.
INSTANTIATE_TEST_SUITE_P(AtExit, MidBufferChunkTest, ::testing::Values("exit"));

}  // namespace
}  // namespace atr::testing
