#include "recorder/symbolizer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace atr {

void PrintTo(const SymbolizedLocation& l, std::ostream* os) {
  *os << "{\"" << l.function << "\", \"" << l.file << "\", " << l.line << ", " << l.column << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

// One line printed by symbolizer_testdata (see symbolizer_testdata/probe.h).
struct Site {
  std::string module;
  uint64_t bias = 0;
  uint64_t rel_pc = 0;
  std::vector<uint32_t> lines;  // innermost first
};

fs::path BuildDir() {
  if (const char* dir = std::getenv("ATR_BUILD_DIR"); dir != nullptr && *dir != '\0') return dir;
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path();  // build/tests/<name>
}

fs::path TestdataExe() { return BuildDir() / "programs" / "symbolizer_testdata"; }

// Runs the testdata program once and parses its sites.
const std::map<std::string, Site>& Sites() {
  static const std::map<std::string, Site>* sites = [] {
    auto* parsed = new std::map<std::string, Site>;
    std::string command = TestdataExe().string();
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return parsed;
    char buffer[4096];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
      std::vector<std::string> f = absl::StrSplit(absl::StripTrailingAsciiWhitespace(buffer), '\t');
      if (f.size() != 8 || f[0] != "site") continue;
      Site site;
      site.module = f[2];
      bool ok = absl::SimpleHexAtoi(f[3], &site.bias) && absl::SimpleHexAtoi(f[4], &site.rel_pc);
      for (int i = 5; i < 8; ++i) {
        uint32_t line = 0;
        ok = ok && absl::SimpleAtoi(f[i], &line);
        if (line != 0) site.lines.push_back(line);
      }
      if (ok) (*parsed)[f[1]] = site;
    }
    pclose(pipe);
    return parsed;
  }();
  return *sites;
}

const Site& GetSite(const std::string& name) {
  static const Site kMissing;
  auto it = Sites().find(name);
  EXPECT_NE(it, Sites().end()) << "site " << name << " not printed by " << TestdataExe();
  return it == Sites().end() ? kMissing : it->second;
}

std::string Basename(const std::string& path) { return fs::path(path).filename().string(); }

// Checks one location against (function, file basename, line); column is
// compiler-dependent, so only its presence is checked.
void ExpectLocation(const SymbolizedLocation& location, const std::string& function,
                    const std::string& file, uint32_t line) {
  EXPECT_EQ(location.function, function);
  EXPECT_EQ(Basename(location.file), file);
  EXPECT_EQ(location.line, line);
  EXPECT_GT(location.column, 0u);
}

TEST(SymbolizerTest, DirectCallInPie) {
  const Site& site = GetSite("direct");
  ASSERT_EQ(site.lines.size(), 1u);
  EXPECT_NE(site.bias, 0u) << "testdata is not a relocated PIE";
  EXPECT_EQ(site.module, TestdataExe().string());

  Symbolizer symbolizer;
  absl::StatusOr<std::vector<SymbolizedLocation>> frames =
      symbolizer.Symbolize(site.module, site.rel_pc);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 1u);
  ExpectLocation((*frames)[0], "atr_testdata::Widget::bar(int)", "main.cc", site.lines[0]);
  EXPECT_EQ(symbolizer.stats().modules_loaded, 1u);
}

TEST(SymbolizerTest, InlinedChainInnermostFirst) {
  const Site& site = GetSite("inlined");
  ASSERT_EQ(site.lines.size(), 3u);

  Symbolizer symbolizer;
  absl::StatusOr<std::vector<SymbolizedLocation>> frames =
      symbolizer.Symbolize(site.module, site.rel_pc);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 3u);
  ExpectLocation((*frames)[0], "atr_testdata::InnerHelper(int, int, int)", "main.cc",
                 site.lines[0]);
  ExpectLocation((*frames)[1], "atr_testdata::MiddleHelper(int, int)", "main.cc", site.lines[1]);
  ExpectLocation((*frames)[2], "atr_testdata::Outer(int)", "main.cc", site.lines[2]);
}

TEST(SymbolizerTest, InlinedChainInSharedLibrary) {
  const Site& site = GetSite("lib_inlined");
  ASSERT_EQ(site.lines.size(), 2u);
  EXPECT_THAT(site.module, EndsWith("/libsymbolizer_testdata_lib.so"));

  Symbolizer symbolizer;
  absl::StatusOr<std::vector<SymbolizedLocation>> frames =
      symbolizer.Symbolize(site.module, site.rel_pc);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 2u);
  ExpectLocation((*frames)[0], "atr_testdata_lib::LibHelper(int, int)", "lib.cc", site.lines[0]);
  ExpectLocation((*frames)[1], "atr_testdata_lib::LibEntry(int)", "lib.cc", site.lines[1]);
}

TEST(SymbolizerTest, RepeatedLookupsHitTheCache) {
  const Site& direct = GetSite("direct");
  const Site& inlined = GetSite("inlined");
  Symbolizer symbolizer;
  auto first = symbolizer.Symbolize(direct.module, direct.rel_pc);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(symbolizer.stats().cache_hits, 0u);

  auto second = symbolizer.Symbolize(direct.module, direct.rel_pc);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(symbolizer.stats().cache_hits, 1u);

  // Another address in the same module is a miss, then a hit.
  ASSERT_TRUE(symbolizer.Symbolize(inlined.module, inlined.rel_pc).ok());
  ASSERT_TRUE(symbolizer.Symbolize(inlined.module, inlined.rel_pc).ok());
  EXPECT_EQ(symbolizer.stats().lookups, 4u);
  EXPECT_EQ(symbolizer.stats().cache_hits, 2u);
  EXPECT_EQ(symbolizer.stats().failures, 0u);
  EXPECT_EQ(symbolizer.stats().modules_loaded, 1u);
}

TEST(SymbolizerTest, MissingModuleFailsOnceThenFast) {
  const std::string missing = "/nonexistent/atr/libmissing.so";
  Symbolizer symbolizer;
  auto first = symbolizer.Symbolize(missing, 0x1234);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kNotFound) << first.status();
  EXPECT_THAT(first.status().message(), HasSubstr(missing));

  auto second = symbolizer.Symbolize(missing, 0x5678);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status(), first.status());
  EXPECT_EQ(symbolizer.stats().cache_hits, 1u);  // answered without LLVM
  EXPECT_EQ(symbolizer.stats().failures, 2u);
  EXPECT_EQ(symbolizer.stats().modules_failed, 1u);

  auto errors = symbolizer.ModuleErrors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].first, missing);
  EXPECT_EQ(errors[0].second, first.status());

  // A good module is unaffected by the bad one.
  const Site& site = GetSite("direct");
  EXPECT_TRUE(symbolizer.Symbolize(site.module, site.rel_pc).ok());
}

TEST(SymbolizerTest, NotAnObjectFile) {
  const std::string path = ::testing::TempDir() + "/symbolizer_test_not_elf.txt";
  std::ofstream(path) << "this is not an ELF file\n";
  Symbolizer symbolizer;
  auto frames = symbolizer.Symbolize(path, 0x1000);
  ASSERT_FALSE(frames.ok());
  EXPECT_EQ(frames.status().code(), absl::StatusCode::kFailedPrecondition) << frames.status();
  EXPECT_EQ(symbolizer.ModuleErrors().size(), 1u);
  std::remove(path.c_str());
}

TEST(SymbolizerTest, PseudoModulesAndZeroAreRejected) {
  Symbolizer symbolizer;
  for (const std::string module : {"", "[vdso]", "[heap]", "linux-vdso.so.1"}) {
    auto frames = symbolizer.Symbolize(module, 0x1000);
    ASSERT_FALSE(frames.ok()) << module;
    EXPECT_EQ(frames.status().code(), absl::StatusCode::kInvalidArgument) << module;
  }
  auto zero = symbolizer.Symbolize(TestdataExe().string(), 0);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(symbolizer.ModuleErrors().empty());  // not module failures
  EXPECT_EQ(symbolizer.stats().failures, 5u);
}

TEST(SymbolizerTest, AddressOutsideAnyFunctionIsNotFound) {
  Symbolizer symbolizer;
  // Inside the ELF header: covered by no symbol and no line table.
  auto frames = symbolizer.Symbolize(TestdataExe().string(), 0x10);
  ASSERT_FALSE(frames.ok());
  EXPECT_EQ(frames.status().code(), absl::StatusCode::kNotFound) << frames.status();
  EXPECT_TRUE(symbolizer.ModuleErrors().empty());
  // Cached like a success.
  EXPECT_EQ(symbolizer.Symbolize(TestdataExe().string(), 0x10).status(), frames.status());
  EXPECT_EQ(symbolizer.stats().cache_hits, 1u);
}

TEST(SymbolizerTest, WithoutDebugInfoFunctionComesFromSymbolTable) {
  const std::string nodebug = TestdataExe().string() + ".nodebug";
  const Site& direct = GetSite("direct");
  const Site& inlined = GetSite("inlined");
  Symbolizer symbolizer;

  auto frames = symbolizer.Symbolize(nodebug, direct.rel_pc);
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_THAT(*frames, ElementsAre(SymbolizedLocation{"atr_testdata::Widget::bar(int)", "", 0, 0}));

  // No inline information either: only the physical function remains.
  frames = symbolizer.Symbolize(nodebug, inlined.rel_pc);
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_THAT(*frames, ElementsAre(SymbolizedLocation{"atr_testdata::Outer(int)", "", 0, 0}));
}

TEST(SymbolizerTest, FullyStrippedGivesNotFound) {
  const std::string stripped = TestdataExe().string() + ".stripped";
  const Site& direct = GetSite("direct");
  Symbolizer symbolizer;
  auto frames = symbolizer.Symbolize(stripped, direct.rel_pc);
  ASSERT_FALSE(frames.ok());
  EXPECT_EQ(frames.status().code(), absl::StatusCode::kNotFound) << frames.status();
  EXPECT_TRUE(symbolizer.ModuleErrors().empty());  // the module itself is fine
}

TEST(SymbolizerTest, SymbolizeAllKeepsOrderAndReportsProgress) {
  const Site& direct = GetSite("direct");
  const Site& inlined = GetSite("inlined");
  const std::vector<uint64_t> pcs = {inlined.rel_pc, direct.rel_pc, 0x10, direct.rel_pc};
  Symbolizer symbolizer;
  std::vector<std::pair<size_t, size_t>> progress;
  auto results = symbolizer.SymbolizeAll(
      direct.module, pcs, [&](size_t done, size_t total) { progress.emplace_back(done, total); });
  ASSERT_EQ(results.size(), pcs.size());
  EXPECT_THAT(progress,
              ElementsAre(std::pair<size_t, size_t>{1, 4}, std::pair<size_t, size_t>{2, 4},
                          std::pair<size_t, size_t>{3, 4}, std::pair<size_t, size_t>{4, 4}));
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->size(), 3u);
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ((*results[1])[0].function, "atr_testdata::Widget::bar(int)");
  EXPECT_FALSE(results[2].ok());
  ASSERT_TRUE(results[3].ok());
  EXPECT_EQ(*results[3], *results[1]);
  EXPECT_EQ(symbolizer.stats().lookups, 4u);
  EXPECT_EQ(symbolizer.stats().cache_hits, 1u);
  EXPECT_EQ(symbolizer.stats().failures, 1u);
}

}  // namespace
}  // namespace atr
