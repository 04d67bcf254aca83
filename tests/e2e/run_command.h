// Helpers for end-to-end tests: run a command, capture its output and exit
// status; find the binaries the build produced.
#ifndef ATR_TESTS_E2E_RUN_COMMAND_H_
#define ATR_TESTS_E2E_RUN_COMMAND_H_

#include <string>
#include <utility>
#include <vector>

namespace atr::testing {

struct CommandResult {
  int exit_code = -1;   // WEXITSTATUS, or 128+signal
  std::string out;      // stdout
  std::string err;      // stderr
};

// Runs argv with extra environment entries ("K=V") added, in `cwd` if given.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::string& cwd = "");

// `atr record -q -o out [options] -- cmd...` with extra environment `env`.
CommandResult AtrRecord(const std::string& out, const std::vector<std::string>& cmd,
                        const std::vector<std::string>& options = {},
                        const std::vector<std::string>& env = {});

// The build directory (ATR_BUILD_DIR, set by ctest; else derived from the
// test binary's location, build/tests/<name>).
std::string BuildDir();
std::string AtrBinary();                           // build/bin/atr
std::string ProgramPath(const std::string& name);  // build/programs/<name>
std::string ExamplePath(const std::string& name);  // build/examples/atr-example-<name>

// A fresh, empty temporary directory removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace atr::testing

#endif  // ATR_TESTS_E2E_RUN_COMMAND_H_
