// Helpers for db/ tests: fresh trace paths under the test temp dir and a
// compact way to write small event sequences.
//
//   std::string path = atr::testing::FreshPath("roundtrip.db");
//   auto w = atr::TraceWriter::Create(path);
#ifndef ATR_DB_DB_TEST_UTIL_H_
#define ATR_DB_DB_TEST_UTIL_H_

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace atr::testing {

// A path that does not exist yet (leftovers of an earlier run are removed).
inline std::string FreshPath(const std::string& name) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "atr_db_" + std::to_string(getpid()) + "_" +
                     info->test_suite_name() + "_" + info->name() + "_" + name;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) unlink((path + suffix).c_str());
  return path;
}

}  // namespace atr::testing

#endif  // ATR_DB_DB_TEST_UTIL_H_
