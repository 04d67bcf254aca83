// Bad input to the atr command: one clear line and a non-zero exit.
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// The registered subcommands, from atr itself (tools/command.h).
std::vector<std::string> RegisteredCommands() {
  CommandResult r = RunCommand({AtrBinary(), "--list-commands"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return absl::StrSplit(r.out, '\n', absl::SkipEmpty());
}

TEST(CliTest, EveryRegisteredCommandHasHelpAndIsListed) {
  std::vector<std::string> commands = RegisteredCommands();
  // The pipeline's first and last commands bound the list.
  ASSERT_GE(commands.size(), 20u);
  EXPECT_EQ(commands.front(), "record");
  EXPECT_EQ(commands.back(), "demo");
  CommandResult help = RunCommand({AtrBinary(), "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const std::string& cmd : commands) {
    SCOPED_TRACE(cmd);
    EXPECT_TRUE(std::regex_search(help.out, std::regex("\n +" + cmd + " ")))
        << "atr --help does not list " << cmd << ":\n" << help.out;
    CommandResult r = RunCommand({AtrBinary(), cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Usage: " + AtrBinary() + " " + cmd + " "), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST(CliTest, UnknownOptionIsAUsageError) {
  CommandResult r = RunCommand({AtrBinary(), "info", "--bogus", "x.db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
}

TEST(CliTest, MissingCommandIsAUsageError) {
  CommandResult r = RunCommand({AtrBinary(), "record", "-o", "/tmp/never.db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
}

TEST(CliTest, CommandThatCannotRunFailsClearly) {
  TempDir dir;
  CommandResult r = RunCommand({AtrBinary(), "record", "-o", dir.File("x.db"), "--",
                                "/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/program"), std::string::npos);
}

TEST(CliTest, UnwritableOutputFailsBeforeRunning) {
  TempDir dir;
  std::string marker = dir.File("ran");
  CommandResult r = RunCommand({AtrBinary(), "record", "-o", "/nonexistent-dir/x.db", "--",
                                "touch", marker});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  struct stat st {};
  EXPECT_NE(stat(marker.c_str(), &st), 0) << "the command ran although the trace cannot be written";
}

TEST(CliTest, NonTraceFilesAreRejected) {
  TempDir dir;
  std::string text = dir.File("notes.txt");
  std::ofstream(text) << "hello\n";
  for (const char* cmd : {"info", "leaks"}) {
    CommandResult r = RunCommand({AtrBinary(), cmd, text});
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_EQ(Lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("not an atr trace"), std::string::npos) << r.err;
  }
  CommandResult r = RunCommand({AtrBinary(), "info", dir.File("missing.db")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
}

TEST(CliTest, TruncatedTraceIsRejectedClearly) {
  TempDir dir;
  std::string trace = dir.File("t.db");
  ASSERT_EQ(RunCommand({AtrBinary(), "record", "-q", "-o", trace, "--",
                        ExamplePath("session_server"), "3000"})
                .exit_code,
            0);
  struct stat st {};
  ASSERT_EQ(stat(trace.c_str(), &st), 0);
  ASSERT_EQ(truncate(trace.c_str(), st.st_size / 2), 0);
  CommandResult r = RunCommand({AtrBinary(), "info", trace});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
}

TEST(CliTest, ImportOfAMissingSpoolFails) {
  CommandResult r = RunCommand({AtrBinary(), "import", "/nonexistent.spool"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
}

// `cmake --install` puts atr, its preload library and the demo's example
// where an installed atr finds them.
TEST(CliTest, InstalledAtrFindsItsPreloadLibraryAndExample) {
  TempDir prefix;
  CommandResult inst = RunCommand({"cmake", "--install", BuildDir(), "--prefix", prefix.path()});
  ASSERT_EQ(inst.exit_code, 0) << inst.err;
  TempDir work;
  CommandResult r = RunCommand({prefix.path() + "/bin/atr", "demo", "--dir", work.path(),
                                "--requests", "200"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("load_config"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace atr::testing
