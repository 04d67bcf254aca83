#include "db/spool_progress_table.h"

#include "db/db_test_util.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::FreshPath;

TEST(SpoolProgressTable, RowsRoundTripAndUpdatesKeepTheFirstFacts) {
  std::string path = FreshPath("spool.db");
  {
    auto w = TraceWriter::Create(path, {.commit_on_flush_only = true});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->EnsureTables(TableGroup::kSpoolProgress).ok());
    ASSERT_TRUE(PutSpoolFile(**w, {.id = 2, .file = "42.1.spool", .pid = 42, .image = 1,
                                   .committed_offset = 4096, .ref_tsc = 1000,
                                   .ref_mono_ns = 77, .tsc_hz = 3'000'000'000,
                                   .first_module_row = 5})
                    .ok());
    ASSERT_TRUE(PutSpoolFile(**w, {.id = 1, .file = "42.0.spool", .pid = 42}).ok());
    // A later checkpoint of file 2: only its offset and end change.
    ASSERT_TRUE(PutSpoolFile(**w, {.id = 2, .file = "ignored", .pid = 9,
                                   .committed_offset = 8192, .terminated = true})
                    .ok());
    ASSERT_TRUE(AddSpoolStack(**w, 2, 0xfeedfacecafebeefULL, 17).ok());
    EXPECT_FALSE(AddSpoolStack(**w, 2, 0xfeedfacecafebeefULL, 18).ok());  // hash defined once
    ASSERT_TRUE((*w)->Flush().ok());
  }
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<std::vector<SpoolFileRow>> files = ReadSpoolFiles(*r);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].id, 1);
  EXPECT_EQ((*files)[0].file, "42.0.spool");
  const SpoolFileRow& f = (*files)[1];
  EXPECT_EQ(f.file, "42.1.spool");
  EXPECT_EQ(f.pid, 42);
  EXPECT_EQ(f.image, 1);
  EXPECT_EQ(f.committed_offset, 8192u);
  EXPECT_EQ(f.ref_tsc, 1000u);
  EXPECT_EQ(f.ref_mono_ns, 77);
  EXPECT_EQ(f.tsc_hz, 3'000'000'000);
  EXPECT_EQ(f.first_module_row, 5);
  EXPECT_TRUE(f.terminated);
  absl::StatusOr<std::vector<SpoolStackRow>> stacks = ReadSpoolStacks(*r);
  ASSERT_TRUE(stacks.ok()) << stacks.status();
  ASSERT_EQ(stacks->size(), 1u);
  EXPECT_EQ((*stacks)[0].file_id, 2);
  EXPECT_EQ((*stacks)[0].hash, 0xfeedfacecafebeefULL);
  EXPECT_EQ((*stacks)[0].stack, 17);
}

}  // namespace
}  // namespace atr
