#include "db/json_strings.h"

#include "gtest/gtest.h"

namespace atr::db_internal {
namespace {

TEST(JsonStrings, RoundTripsAnyBytes) {
  std::vector<std::string> argv = {"./server", "--name=\"x\"", "back\\slash", "tab\there",
                                   "nl\n", std::string("nul\0byte", 8), "caf\xc3\xa9",
                                   "bad\xff\xfe", ""};
  std::string json = EncodeJsonStrings(argv);
  absl::StatusOr<std::vector<std::string>> back = DecodeJsonStrings(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, argv);
}

TEST(JsonStrings, EncodesPlainArgvReadably) {
  EXPECT_EQ(EncodeJsonStrings({"ls", "-l"}), R"(["ls","-l"])");
  EXPECT_EQ(EncodeJsonStrings({}), "[]");
}

TEST(JsonStrings, RejectsMalformed) {
  for (const char* bad : {"", "[", "[\"a\"", "[1]", "{\"a\":1}", "[\"a\",]", "[\"\\q\"]"}) {
    EXPECT_FALSE(DecodeJsonStrings(bad).ok()) << bad;
  }
  EXPECT_TRUE(DecodeJsonStrings(" [ \"a\" , \"b\" ] ").ok());
}

}  // namespace
}  // namespace atr::db_internal
