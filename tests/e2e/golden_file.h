// Golden files: a report's exact output, kept in tests/golden/ and compared
// byte for byte. When a report changes on purpose, rewrite them and review
// the diff:
//
//   ATR_UPDATE_GOLDEN=1 ctest --test-dir build -R 'golden_test|whatif_test'
//   git diff tests/golden/
//
//   ExpectMatchesGolden(std::string(ATR_GOLDEN_DIR) + "/top.txt", r.out);
//
// Only ATR_UPDATE_GOLDEN=1 rewrites (any other value compares), and never
// under CI=true, where a rewrite would make the test pass by construction.
#ifndef ATR_TESTS_E2E_GOLDEN_FILE_H_
#define ATR_TESTS_E2E_GOLDEN_FILE_H_

#include <string>

namespace atr::testing {

// True when ATR_UPDATE_GOLDEN=1.
bool GoldenUpdateMode();

// Compares `actual` with the file at `path` (a failure names the file and
// says how to rewrite it), or rewrites the file in update mode.
void ExpectMatchesGolden(const std::string& path, const std::string& actual);

}  // namespace atr::testing

#endif  // ATR_TESTS_E2E_GOLDEN_FILE_H_
