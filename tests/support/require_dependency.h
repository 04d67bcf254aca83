// ATR_REQUIRE_DEPENDENCY: a test that needs something from outside the
// repository (chromium, an allocator library, python3, sqlite3, a
// filesystem that punches holes) is skipped when that is missing on a
// developer's machine, and FAILS under CI=true: scripts/setup.sh installs
// every dependency there, so a skip in CI could only hide a test that never
// ran. scripts/test.sh also fails a CI run whose ctest summary lists any
// test that did not run.
//
//   TEST(Report, OpensInChromium) {
//     ATR_REQUIRE_DEPENDENCY(access(kChromium, X_OK) == 0,
//                            "chromium (scripts/setup.sh installs it)");
//     ...
//   }
//
// Usable wherever GTEST_SKIP is (a TEST body, SetUp, SetUpTestSuite): it
// returns from the enclosing void function when the dependency is missing.
// Header-only, so any test target can use it without a new link dependency.
#ifndef ATR_TESTS_SUPPORT_REQUIRE_DEPENDENCY_H_
#define ATR_TESTS_SUPPORT_REQUIRE_DEPENDENCY_H_

#include <cstdlib>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace atr::testing {

// True when the environment says CI=true (what scripts/test.sh and CI set).
inline bool UnderCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

// Records the missing dependency: a failure under CI=true, else a skip.
// Use ATR_REQUIRE_DEPENDENCY, which also returns from the test.
inline void ReportMissingDependency(const std::string& what, const char* file, int line) {
  if (UnderCi()) {
    ADD_FAILURE_AT(file, line) << what
                               << " is missing; under CI=true every dependency must be "
                                  "installed (scripts/setup.sh)";
    return;
  }
  GTEST_SKIP() << what << " is missing (" << file << ":" << line << ")";
}

}  // namespace atr::testing

#define ATR_REQUIRE_DEPENDENCY(present, what)                                    \
  do {                                                                           \
    if (!(present)) {                                                            \
      ::atr::testing::ReportMissingDependency((what), __FILE__, __LINE__);       \
      return;                                                                    \
    }                                                                            \
  } while (0)

#endif  // ATR_TESTS_SUPPORT_REQUIRE_DEPENDENCY_H_
