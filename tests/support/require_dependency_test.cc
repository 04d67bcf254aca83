// ATR_REQUIRE_DEPENDENCY fails, rather than skips, under CI=true.
#include "tests/support/require_dependency.h"

#include <stdlib.h>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

namespace atr::testing {
namespace {

// Sets CI for the scope of one test and restores what was there.
class ScopedCi {
 public:
  explicit ScopedCi(const char* value) {
    if (const char* old = getenv("CI")) old_ = old, had_ = true;
    if (value) setenv("CI", value, 1);
    else unsetenv("CI");
  }
  ~ScopedCi() {
    if (had_) setenv("CI", old_.c_str(), 1);
    else unsetenv("CI");
  }

 private:
  std::string old_;
  bool had_ = false;
};

void NeedsMissingTool(bool* reached_end) {
  ATR_REQUIRE_DEPENDENCY(false, "the tool");
  *reached_end = true;
}

TEST(RequireDependencyTest, OnlyCiEqualsTrueIsCi) {
  {
    ScopedCi ci("true");
    EXPECT_TRUE(UnderCi());
  }
  for (const char* other : {"", "false", "1", "TRUE"}) {
    ScopedCi ci(other);
    EXPECT_FALSE(UnderCi()) << other;
  }
  ScopedCi unset(nullptr);
  EXPECT_FALSE(UnderCi());
}

TEST(RequireDependencyTest, MissingDependencyFailsUnderCiAndReturns) {
  ScopedCi ci("true");
  bool reached_end = false;
  EXPECT_NONFATAL_FAILURE(NeedsMissingTool(&reached_end),
                          "the tool is missing; under CI=true every dependency must be installed");
  EXPECT_FALSE(reached_end);
}

TEST(RequireDependencyTest, PresentDependencyRunsOn) {
  ScopedCi ci("true");
  bool reached_end = false;
  [&] {
    ATR_REQUIRE_DEPENDENCY(true, "the tool");
    reached_end = true;
  }();
  EXPECT_TRUE(reached_end);
}

}  // namespace
}  // namespace atr::testing
