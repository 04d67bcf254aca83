// The progress line (base/progress_line.h): drawn on stderr
// when it is a terminal, never otherwise. `atr record` and `atr replay` run
// once on a pseudo-terminal (forkpty) and once on pipes.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

// Runs argv with a new pseudo-terminal as its stdin, stdout and stderr and
// returns its exit code and everything it wrote there (in `out`).
CommandResult RunOnTerminal(const std::vector<std::string>& argv) {
  CommandResult r;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << errno;
    return r;
  }
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO: every copy of the terminal's other end is closed
    }
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

constexpr char kErase[] = "\r\033[K";

TEST(ProgressTest, RecordDrawsAndErasesItsProgressOnATerminal) {
  TempDir dir;
  std::string trace = dir.File("t.db");
  CommandResult tty = RunOnTerminal(
      {AtrBinary(), "record", "-o", trace, "--", ExamplePath("session_server"), "300"});
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("\rsymbolizing frames "), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\rpairing allocations and building indexes 0 / 1"), std::string::npos)
      << tty.out;
  EXPECT_NE(tty.out.find(kErase), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("allocations"), std::string::npos) << tty.out;  // the summary

  CommandResult piped = RunCommand({AtrBinary(), "record", "--force", "-o", trace, "--",
                                    ExamplePath("session_server"), "300"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_NE(piped.err.find("atr: "), std::string::npos) << piped.err;  // the summary
  EXPECT_EQ(piped.err.find("symbolizing"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("pairing"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped.err;
}

TEST(ProgressTest, ReplayDrawsItsProgressOnlyOnATerminal) {
  TempDir dir;
  std::string trace = dir.File("t.db");
  // 3000 requests: ~150,000 events, past the replay's first progress report
  // (every 65,536 events).
  ASSERT_EQ(AtrRecord(trace, {ExamplePath("session_server"), "3000"}).exit_code, 0);
  CommandResult tty = RunOnTerminal({AtrBinary(), "replay", trace, "--no-store"});
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("\rreplaying "), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find(kErase), std::string::npos) << tty.out;

  CommandResult piped = RunCommand({AtrBinary(), "replay", trace, "--no-store"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find("replaying"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped.err;
  // -q silences it on a terminal too.
  CommandResult quiet = RunOnTerminal({AtrBinary(), "replay", trace, "--no-store", "-q"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.out;
  EXPECT_EQ(quiet.out.find("replaying"), std::string::npos) << quiet.out;
}

}  // namespace
}  // namespace atr::testing
