#include "tests/e2e/golden_file.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/require_dependency.h"

namespace atr::testing {

bool GoldenUpdateMode() {
  const char* v = std::getenv("ATR_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

void ExpectMatchesGolden(const std::string& path, const std::string& actual) {
  if (GoldenUpdateMode()) {
    if (UnderCi()) {
      ADD_FAILURE() << "ATR_UPDATE_GOLDEN=1 under CI=true: golden files are never rewritten in CI";
      return;
    }
    std::ofstream out(path, std::ios::binary);
    out << actual;
    EXPECT_TRUE(out.flush().good()) << "cannot write " << path;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << path << " is missing: run with ATR_UPDATE_GOLDEN=1 to create it";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual) << "output differs from " << path
                                    << " (ATR_UPDATE_GOLDEN=1 rewrites it)";
}

}  // namespace atr::testing
