#include "allocator/config.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr::alloc {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateConfig(Config{}).ok());
  EXPECT_EQ(Config{}.page_size, 8192u);
  EXPECT_EQ(Config{}.arena_size, 64u << 20);
  EXPECT_EQ(Config{}.size_classes, SizeClassTable::kGo);
}

TEST(ConfigTest, ParsesEveryKind) {
  absl::StatusOr<Config> cfg = ParseConfig(
      {"size_classes=tcmalloc", "page_size=16k", "arena_size=0x8000000",
       "central.span_policy=fullest", "page_heap.fit=best",
       "scavenger.policy=idle", "scavenger.idle_events=5000",
       "thread_cache.return=all", "address_base=0x10000000000"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->size_classes, SizeClassTable::kTcmalloc);
  EXPECT_EQ(cfg->page_size, 16384u);
  EXPECT_EQ(cfg->arena_size, 128u << 20);
  EXPECT_EQ(cfg->span_policy, SpanPolicy::kFullest);
  EXPECT_EQ(cfg->fit_policy, FitPolicy::kBestFit);
  EXPECT_EQ(cfg->scavenge_policy, ScavengePolicy::kIdle);
  EXPECT_EQ(cfg->scavenge_idle_events, 5000u);
  EXPECT_EQ(cfg->thread_cache_return, ReturnPolicy::kAll);
}

TEST(ConfigTest, RejectsWithClearMessages) {
  EXPECT_THAT(ParseConfig({"nope=1"}).status().message(),
              HasSubstr("unknown config key 'nope'"));
  EXPECT_THAT(ParseConfig({"page_size"}).status().message(),
              HasSubstr("key=value"));
  EXPECT_THAT(ParseConfig({"scavenger.policy=sometimes"}).status().message(),
              HasSubstr("off, eager, idle, target"));
  EXPECT_THAT(ParseConfig({"page_size=12k"}).status().message(),
              HasSubstr("power of two"));
  EXPECT_THAT(ParseConfig({"arena_size=x"}).status().message(),
              HasSubstr("not an unsigned integer"));
  EXPECT_THAT(ParseConfig({"arena_size=12000"}).status().message(),
              HasSubstr("multiple of page_size"));
  EXPECT_THAT(ParseConfig({"size_classes=custom"}).status().message(),
              HasSubstr("non-empty list"));
  EXPECT_THAT(ParseConfig({"custom_classes=16"}).status().message(),
              HasSubstr("only allowed with size_classes=custom"));
  EXPECT_THAT(ParseConfig({"size_classes=custom", "custom_classes=32,16"})
                  .status()
                  .message(),
              HasSubstr("strictly increasing"));
  EXPECT_THAT(
      ParseConfig({"size_classes=custom", "custom_classes=12"}).status().message(),
      HasSubstr("multiple of 8"));
}

TEST(ConfigTest, SerializeRoundTrips) {
  absl::StatusOr<Config> cfg =
      ParseConfig({"size_classes=custom", "custom_classes=16,48:2,4096",
                   "scavenger.policy=eager", "thread_cache.capacity_bytes=0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  std::string text = SerializeConfig(*cfg);
  EXPECT_THAT(text, HasSubstr("custom_classes=16,48:2,4096"));
  absl::StatusOr<Config> back = ParseSerializedConfig(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *cfg);
  EXPECT_EQ(SerializeConfig(*back), text);
}

TEST(ConfigTest, FormatListsEveryTunableWithHelp) {
  std::string text = FormatConfig(Config{});
  for (const TunableInfo& t : Tunables()) {
    EXPECT_THAT(text, HasSubstr(std::string(t.key) + "=" + t.default_value));
    EXPECT_FALSE(t.help.empty());
  }
  EXPECT_THAT(text, HasSubstr("scavenger.policy=target  # "));
}

}  // namespace
}  // namespace atr::alloc
