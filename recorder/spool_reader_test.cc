#include "recorder/spool_reader.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "db/ops.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "recorder/testdata/spool_chunk_builder.h"

namespace atr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_spool::ChunkBuilder;

class SpoolReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/atr_spool_reader_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/123.0.spool";
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    close(fd_);
    std::filesystem::remove_all(dir_);
  }
  void Append(const std::vector<uint8_t>& bytes, size_t from = 0, size_t n = SIZE_MAX) {
    n = std::min(n, bytes.size() - from);
    ASSERT_EQ(write(fd_, bytes.data() + from, n), static_cast<ssize_t>(n));
  }
  SpoolFileReader Open() {
    absl::StatusOr<SpoolFileReader> r = SpoolFileReader::Open(path_);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  }

  std::string dir_, path_;
  int fd_ = -1;
};

TEST_F(SpoolReaderTest, EveryRecordTypeRoundTrips) {
  ChunkBuilder b(123, 124);
  spool::ProcessRecord pr = {};
  pr.h.type = spool::RecordType::kProcess;
  pr.h.op = static_cast<uint8_t>(spool::kSpoolVersion);
  pr.ppid = 1;
  pr.tsc = 1000;
  pr.mono_ns = 2000;
  pr.real_ns = 3000;
  pr.tsc_hz = 2'000'000'000;
  pr.image = 0;
  pr.argc = 2;
  b.Add(pr, std::string("/bin/prog\0/home\0prog\0--flag\0", 28));
  spool::ModuleRecord mr = {};
  mr.h.type = spool::RecordType::kModule;
  mr.flags = spool::ModuleRecord::kLoaded;
  mr.seq = 5;
  mr.bias = 0x1000;
  mr.lo = 0x1000;
  mr.hi = 0x9000;
  b.Add(mr, std::string("/lib/libx.so\0", 13));
  b.AddStack(0xABC, {0x1100, 0x1200, 0x1300});
  b.AddEvent(Op::kMalloc, 7, 0x5000, 64, 0xABC);
  spool::ThreadRecord tr = {};
  tr.h.type = spool::RecordType::kThread;
  tr.creator_tid = 9;
  tr.stack_lo = 0x7000;
  tr.stack_hi = 0x8000;
  std::strcpy(tr.name, "worker");
  b.Add(tr);
  spool::LostRecord lr = {};
  lr.h.type = spool::RecordType::kLost;
  lr.count = 3;
  b.Add(lr);
  Append(b.Build());

  SpoolFileReader reader = Open();
  absl::StatusOr<std::optional<SpoolChunk>> chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  ASSERT_TRUE(chunk->has_value());
  const SpoolChunk& c = **chunk;
  EXPECT_EQ(c.file_offset, 0u);
  EXPECT_EQ(c.header.pid, 123u);
  EXPECT_EQ(c.header.tid, 124u);
  std::vector<spool::RecordType> types;
  for (const SpoolRecord& r : c.records()) {
    types.push_back(r.type());
    EXPECT_EQ(r.chunk_tid(), 124u);
    switch (r.type()) {
      case spool::RecordType::kProcess: {
        EXPECT_EQ(r.file_offset(), sizeof(spool::ChunkHeader));
        EXPECT_EQ(r.process().tsc_hz, 2'000'000'000u);
        ProcessStrings s = r.process_strings();
        EXPECT_EQ(s.exe, "/bin/prog");
        EXPECT_EQ(s.cwd, "/home");
        EXPECT_THAT(s.argv, ElementsAre("prog", "--flag"));
        break;
      }
      case spool::RecordType::kModule:
        EXPECT_EQ(r.module().hi, 0x9000u);
        EXPECT_EQ(std::string(r.module_path()), "/lib/libx.so");
        break;
      case spool::RecordType::kStack:
        EXPECT_EQ(r.stack().hash, 0xABCu);
        EXPECT_THAT(std::vector<uint64_t>(r.stack_pcs().begin(), r.stack_pcs().end()),
                    ElementsAre(0x1100, 0x1200, 0x1300));
        break;
      case spool::RecordType::kEvent:
        EXPECT_EQ(r.event().h.op, static_cast<uint8_t>(Op::kMalloc));
        EXPECT_EQ(r.event().size, 64u);
        EXPECT_EQ(r.event().stack, 0xABCu);
        break;
      case spool::RecordType::kThread:
        EXPECT_STREQ(r.thread().name, "worker");
        EXPECT_EQ(r.thread().creator_tid, 9u);
        break;
      case spool::RecordType::kLost:
        EXPECT_EQ(r.lost().count, 3u);
        break;
    }
  }
  EXPECT_THAT(types, ElementsAre(spool::RecordType::kProcess, spool::RecordType::kModule,
                                 spool::RecordType::kStack, spool::RecordType::kEvent,
                                 spool::RecordType::kThread, spool::RecordType::kLost));
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  EXPECT_FALSE(chunk->has_value());
  EXPECT_TRUE(reader.IncompleteTail().ok());
}

TEST_F(SpoolReaderTest, TailsAFileBeingWritten) {
  ChunkBuilder a(1, 1), b(1, 2);
  for (int i = 0; i < 10; ++i) a.AddEvent(Op::kMalloc, i + 1, 0x1000 + i, 8);
  b.AddEvent(Op::kFree, 11, 0x1000, 0);
  std::vector<uint8_t> first = a.Build(), second = b.Build();
  SpoolFileReader reader = Open();
  auto chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  EXPECT_FALSE(chunk->has_value());  // empty file: nothing yet

  Append(first, 0, 10);  // part of the header
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  EXPECT_FALSE(chunk->has_value());
  EXPECT_EQ(reader.pending_bytes(), 10u);
  Append(first, 10, 100);  // header complete, payload not
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  EXPECT_FALSE(chunk->has_value());
  EXPECT_EQ(reader.offset(), 0u);
  Append(first, 110);
  Append(second);
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  ASSERT_TRUE(chunk->has_value());
  EXPECT_EQ((*chunk)->payload.size(), 10 * sizeof(spool::EventRecord));
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  ASSERT_TRUE(chunk->has_value());
  EXPECT_EQ((*chunk)->header.tid, 2u);
  EXPECT_EQ((*chunk)->file_offset, first.size());
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  EXPECT_FALSE(chunk->has_value());
  EXPECT_EQ(reader.offset(), first.size() + second.size());
  EXPECT_TRUE(reader.IncompleteTail().ok());
}

TEST_F(SpoolReaderTest, TruncatedTailIsReportedWithItsOffset) {
  ChunkBuilder a(1, 1);
  a.AddEvent(Op::kMalloc, 1, 0x1000, 8);
  std::vector<uint8_t> whole = a.Build();
  Append(whole);
  Append(whole, 0, whole.size() - 8);  // a writer killed mid-write
  SpoolFileReader reader = Open();
  auto chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok() && chunk->has_value());
  chunk = reader.NextChunk();
  ASSERT_TRUE(chunk.ok());
  EXPECT_FALSE(chunk->has_value());
  absl::Status tail = reader.IncompleteTail();
  EXPECT_EQ(tail.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tail.message(), HasSubstr("offset " + std::to_string(whole.size())));
}

TEST_F(SpoolReaderTest, CorruptMagicIsAStickyErrorWithOffset) {
  ChunkBuilder a(1, 1);
  a.AddEvent(Op::kMalloc, 1, 0x1000, 8);
  std::vector<uint8_t> good = a.Build(), bad = a.Build();
  bad[0] ^= 0xFF;
  Append(good);
  Append(bad);
  SpoolFileReader reader = Open();
  ASSERT_TRUE(reader.NextChunk().ok());
  auto chunk = reader.NextChunk();
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(chunk.status().message(), HasSubstr("offset " + std::to_string(good.size())));
  EXPECT_THAT(chunk.status().message(), HasSubstr("magic"));
  EXPECT_FALSE(reader.NextChunk().ok());
  EXPECT_FALSE(reader.IncompleteTail().ok());
}

TEST_F(SpoolReaderTest, OversizedChunkFailsAtOnceInsteadOfWaiting) {
  spool::ChunkHeader h = {spool::ChunkHeader::kMagic, spool::kMaxChunkPayload + 8, 1, 1};
  std::vector<uint8_t> bytes(sizeof(h));
  std::memcpy(bytes.data(), &h, sizeof(h));
  Append(bytes);
  SpoolFileReader reader = Open();
  auto chunk = reader.NextChunk();
  ASSERT_FALSE(chunk.ok());
  EXPECT_THAT(chunk.status().message(), HasSubstr("exceeds"));
}

TEST_F(SpoolReaderTest, MalformedRecordsAreRejected) {
  {
    ChunkBuilder a(1, 1);
    a.AddEvent(Op::kMalloc, 1, 0x1000, 8);
    reinterpret_cast<spool::RecordHeader*>(a.records().data())->bytes = 12;  // not 8k
    std::vector<uint8_t> c = a.Build();
    EXPECT_THAT(ValidateSpoolChunk(*reinterpret_cast<spool::ChunkHeader*>(c.data()),
                                   {c.data() + 16, c.size() - 16}, 0)
                    .message(),
                HasSubstr("bad length"));
  }
  {
    ChunkBuilder a(1, 1);
    a.AddStack(7, {1, 2});
    reinterpret_cast<spool::StackRecord*>(a.records().data())->depth = 5;
    std::vector<uint8_t> c = a.Build();
    EXPECT_THAT(ValidateSpoolChunk(*reinterpret_cast<spool::ChunkHeader*>(c.data()),
                                   {c.data() + 16, c.size() - 16}, 0)
                    .message(),
                HasSubstr("stack depth"));
  }
  {
    ChunkBuilder a(1, 1);
    spool::ModuleRecord mr = {};
    mr.h.type = spool::RecordType::kModule;
    a.Add(mr, "12345678");  // no NUL inside the record
    std::vector<uint8_t> c = a.Build();
    EXPECT_THAT(ValidateSpoolChunk(*reinterpret_cast<spool::ChunkHeader*>(c.data()),
                                   {c.data() + 16, c.size() - 16}, 0)
                    .message(),
                HasSubstr("unterminated"));
  }
  {
    // Records of a type this reader does not know are skippable.
    ChunkBuilder a(1, 1);
    spool::LostRecord unknown = {};
    unknown.h.type = static_cast<spool::RecordType>(42);
    a.Add(unknown, "abcdefgh");
    a.AddEvent(Op::kFree, 2, 0x1000, 0);
    Append(a.Build());
    SpoolFileReader reader = Open();
    auto chunk = reader.NextChunk();
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    int n = 0;
    for (const SpoolRecord& r : (*chunk)->records()) {
      (void)r;
      ++n;
    }
    EXPECT_EQ(n, 2);
  }
}

TEST_F(SpoolReaderTest, ManyChunksAcrossBufferRefills) {
  // More than the reader's read-ahead, in chunks of varying size.
  uint64_t seq = 0;
  for (int c = 0; c < 200; ++c) {
    ChunkBuilder a(1, 1);
    for (int i = 0; i < 1 + c * 7 % 500; ++i) {
      ++seq;
      a.AddEvent(Op::kMalloc, seq, seq, 1);
    }
    Append(a.Build());
  }
  SpoolFileReader reader = Open();
  uint64_t expect = 0;
  for (;;) {
    auto chunk = reader.NextChunk();
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk->has_value()) break;
    for (const SpoolRecord& r : (*chunk)->records()) EXPECT_EQ(r.event().seq, ++expect);
  }
  EXPECT_EQ(expect, seq);
  EXPECT_TRUE(reader.IncompleteTail().ok());
  SpoolFileReader moved = std::move(reader);
  EXPECT_EQ(moved.offset(), std::filesystem::file_size(path_));
}

spool::EventRecord Ev(Op op, uint64_t seq, uint64_t tsc, uint64_t addr, uint64_t size,
                      uint64_t arg, uint64_t stack, uint32_t sp_depth = 4096) {
  return spool::MakeEventRecord(static_cast<uint8_t>(op), sp_depth, seq, tsc, addr, size, arg,
                                stack);
}

void ExpectSameEvent(const spool::EventRecord& got, const spool::EventRecord& want) {
  EXPECT_EQ(got.h.type, spool::RecordType::kEvent);
  EXPECT_EQ(got.h.op, want.h.op) << "seq " << want.seq;
  EXPECT_EQ(got.h.bytes, sizeof(spool::EventRecord));
  EXPECT_EQ(got.sp_depth, want.sp_depth) << "seq " << want.seq;
  EXPECT_EQ(got.seq, want.seq);
  EXPECT_EQ(got.tsc, want.tsc) << "seq " << want.seq;
  EXPECT_EQ(got.addr, want.addr) << "seq " << want.seq;
  EXPECT_EQ(got.size, want.size) << "seq " << want.seq;
  EXPECT_EQ(got.arg, want.arg) << "seq " << want.seq;
  EXPECT_EQ(got.stack, want.stack) << "seq " << want.seq;
}

// Every event the reader yields, in file order.
std::vector<spool::EventRecord> ReadEvents(SpoolFileReader& reader) {
  std::vector<spool::EventRecord> out;
  for (;;) {
    auto chunk = reader.NextChunk();
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk.ok() || !chunk->has_value()) break;
    for (const SpoolRecord& r : (*chunk)->records()) {
      EXPECT_EQ(r.type(), spool::RecordType::kEvent);
      out.push_back(r.event());
    }
  }
  return out;
}

TEST_F(SpoolReaderTest, CompactEventsRoundTripIncludingEveryEscape) {
  constexpr uint64_t kHeap = 0x5555'5555'0000ull, kCode = 0x7f00'0000'1000ull;
  constexpr uint64_t kTsc = 0x1234'5678'9abcull;
  struct Case {
    spool::EventRecord e;
    uint32_t bytes;  // as written
  };
  std::vector<Case> cases = {
      // The first event of a chunk: tsc against 0 does not fit.
      {Ev(Op::kMalloc, 10, kTsc, kHeap, 64, 0, 0xAAAA), 56},
      {Ev(Op::kMalloc, 12, kTsc + 90, kHeap + 0x50, 64, 0, 0xAAAA), 32},
      {Ev(Op::kFree, 13, kTsc + 100, kHeap, 0, 0, 0xBBBB), 32},
      {Ev(Op::kFree, 14, kTsc + 110, kHeap + 0x50, 0, 0, 0), 24},
      {Ev(Op::kFree, 15, kTsc + 111, 0, 0, 0, 0), 16},  // free(nullptr)
      // Huge size: 64-bit; the addr still a delta.
      {Ev(Op::kMalloc, 16, kTsc + 120, kHeap - 0x1000, 5ull << 32, 0, 0xAAAA), 40},
      // calloc: arg = nmemb (32-bit); realloc: arg = old pointer (delta).
      {Ev(Op::kCalloc, 17, kTsc + 130, kHeap + 0x100, 40, 10, 0xAAAA), 40},
      {Ev(Op::kRealloc, 18, kTsc + 140, kHeap + 0x200, 80, kHeap + 0x100, 0xAAAA), 40},
      // An arg far from addr and above 32 bits: 64-bit.
      {Ev(Op::kPosixMemalign, 19, kTsc + 150, kHeap + 0x300, 8, 1ull << 40, 0xAAAA), 40},
      // Function events: addr against the last function, arg near addr.
      {Ev(Op::kFuncEnter, 20, kTsc + 160, kCode, 0, kCode - 0x200, 0), 32},
      {Ev(Op::kFuncEnter, 21, kTsc + 161, kCode + 0x4000, 0, kCode + 0x10, 0), 24},
      {Ev(Op::kFuncExit, 22, kTsc + 162, kCode + 0x4000, 0, kCode + 0x10, 0), 24},
      // Memory events still delta against the last memory addr.
      {Ev(Op::kNew, 23, kTsc + 170, kHeap + 0x400, 24, 0, 0xCCCC), 32},
      // A seq gap beyond 32 bits; then deltas continue from it.
      {Ev(Op::kDelete, (1ull << 33) + 30, kTsc + 180, kHeap + 0x400, 0, 0, 0), 56},
      {Ev(Op::kDelete, (1ull << 33) + 31, kTsc + 181, kHeap + 0x200, 0, 0, 0), 24},
      // A tsc jump beyond 32 bits, and a tsc going backwards (migration).
      {Ev(Op::kMalloc, (1ull << 33) + 32, kTsc + (1ull << 33), kHeap, 1, 0, 0), 56},
      {Ev(Op::kMalloc, (1ull << 33) + 33, kTsc + 7, kHeap + 8, 1, 0, 0), 56},
      // A seq going backwards (a signal handler's event drained late).
      {Ev(Op::kFree, (1ull << 33) + 20, kTsc + 8, kHeap + 8, 0, 0, 0), 56},
      // sp_depth beyond 24 bits; a rare op.
      {Ev(Op::kMalloc, (1ull << 33) + 34, kTsc + 9, kHeap, 1, 0, 0, 1u << 24), 56},
      {Ev(Op::kMmap, (1ull << 33) + 35, kTsc + 10, kHeap, 4096, 0, 0), 56},
      {Ev(Op::kFree, (1ull << 33) + 36, kTsc + 11, kHeap, 0, 0, 0, (1u << 24) - 1), 24},
  };
  // Chunk 1: the first half; chunk 2: the rest, opened with a DeltaBase as
  // when another thread flushed the first half out of the same buffer.
  size_t half = cases.size() / 2;
  ChunkBuilder a(123, 124);
  for (size_t i = 0; i < half; ++i) {
    EXPECT_EQ(a.AddEncodedEvent(cases[i].e), cases[i].bytes) << "case " << i;
  }
  ChunkBuilder b(123, 124);
  b.AddDeltaBase(a.base());
  for (size_t i = half; i < cases.size(); ++i) {
    EXPECT_EQ(b.AddEncodedEvent(cases[i].e), cases[i].bytes) << "case " << i;
  }
  // Chunk 3: deltas restart; the same events decode on their own.
  ChunkBuilder c(123, 124);
  for (const Case& k : cases) c.AddEncodedEvent(k.e);
  std::vector<uint8_t> first = a.Build();
  Append(first);
  Append(b.Build());
  Append(c.Build());

  SpoolFileReader reader = Open();
  std::vector<spool::EventRecord> got = ReadEvents(reader);
  ASSERT_EQ(got.size(), 2 * cases.size());
  for (size_t i = 0; i < got.size(); ++i) ExpectSameEvent(got[i], cases[i % cases.size()].e);
  EXPECT_TRUE(reader.IncompleteTail().ok());

  // A resumed reader starting at chunk 2 needs nothing before it.
  SpoolFileReader resumed = Open();
  resumed.SkipTo(first.size());
  got = ReadEvents(resumed);
  ASSERT_EQ(got.size(), 2 * cases.size() - half);
  for (size_t i = 0; i < got.size(); ++i) {
    ExpectSameEvent(got[i], cases[(half + i) % cases.size()].e);
  }
}

TEST_F(SpoolReaderTest, CompactEventsShrinkTheHotPath) {
  // What a malloc/free loop writes: 32 bytes per event with stacks, against
  // 56 in spool format version 1; enter/exit pairs 24.
  ChunkBuilder a(1, 1);
  uint64_t bytes = 0, seq = 100, tsc = 1u << 20;
  a.AddEncodedEvent(Ev(Op::kMalloc, seq, tsc, 0x10000, 16, 0, 7));
  for (int i = 0; i < 1000; ++i) {
    uint64_t addr = 0x10000 + 32 * (i % 50);
    bytes += a.AddEncodedEvent(Ev(Op::kMalloc, ++seq, tsc += 40, addr, 16 + i % 7, 0, 7));
    bytes += a.AddEncodedEvent(Ev(Op::kFree, ++seq, tsc += 30, addr, 0, 0, 9));
    bytes += a.AddEncodedEvent(Ev(Op::kFuncEnter, ++seq, tsc += 5, 0x401000 + i, 0, 0x402000, 0));
    bytes += a.AddEncodedEvent(Ev(Op::kFuncExit, ++seq, tsc += 5, 0x401000 + i, 0, 0x402000, 0));
  }
  EXPECT_EQ(bytes, 1000u * (32 + 32 + 24 + 24));
}

TEST_F(SpoolReaderTest, MalformedCompactRecordsAreRejected) {
  auto validate = [](ChunkBuilder& a) {
    std::vector<uint8_t> c = a.Build();
    return ValidateSpoolChunk(*reinterpret_cast<spool::ChunkHeader*>(c.data()),
                              {c.data() + 16, c.size() - 16}, 0);
  };
  {
    ChunkBuilder a(1, 1);
    a.AddEncodedEvent(Ev(Op::kMalloc, 1, 2, 0x1000, 8, 0, 0));
    reinterpret_cast<spool::CompactEventRecord*>(a.records().data())->depth_fields |= 0x80;
    EXPECT_THAT(validate(a).message(), HasSubstr("field bits"));
  }
  {
    ChunkBuilder a(1, 1);
    a.AddEncodedEvent(Ev(Op::kMalloc, 1, 2, 0x1000, 8, 0, 0));
    // Claims a stack hash the record has no room for.
    reinterpret_cast<spool::CompactEventRecord*>(a.records().data())->depth_fields |=
        spool::kCompactHasStack;
    EXPECT_THAT(validate(a).message(), HasSubstr("size vs field bits"));
  }
  {
    ChunkBuilder a(1, 1);
    spool::DeltaBaseRecord d = {};
    d.h.type = static_cast<spool::RecordType>(spool::kDeltaBaseType);
    a.Add(d, "12345678");
    EXPECT_THAT(validate(a).message(), HasSubstr("delta base record size"));
  }
}

TEST_F(SpoolReaderTest, OtherSpoolFormatVersionsAreRejectedClearly) {
  ChunkBuilder a(1, 1);
  a.AddProcess(1, {"/bin/prog", "/", "prog"}, 1000, 5'000'000, 1'000'000'000);
  reinterpret_cast<spool::RecordHeader*>(a.records().data())->op = 0;  // as version 1 wrote
  Append(a.Build());
  SpoolFileReader reader = Open();
  auto chunk = reader.NextChunk();
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(chunk.status().message(), HasSubstr("spool format version 1; this atr reads version " +
                                                  std::to_string(spool::kSpoolVersion)));
}

TEST(SpoolReader, MissingFileIsNotFound) {
  EXPECT_EQ(SpoolFileReader::Open("/nonexistent/1.0.spool").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace atr
