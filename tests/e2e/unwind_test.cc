// The table unwinder (ATR_UNWIND=table) against libunwind on real programs:
// every event's stack is captured both ways (ATR_UNWIND_CROSSCHECK=1) and
// the preload reports, per process, how many stacks it compared and how
// many differed. Every program must show zero mismatches, and most events
// must have been answered by the tables (not by the libunwind fallback).
// Table walks re-use the thread's previous walk (unwind/walk_memo.h): the
// stacks compared are the memo's, and each stack's id built from the memo's
// partial sums must equal the id hashed from scratch (id_mismatches).
// Reports come from a library destructor, so an image replaced by exec is
// not counted, but the exec'd image is: the preload carries
// ATR_UNWIND_CROSSCHECK into its environment (rec_exec execs itself with an
// empty one, so only the new image reports).
#include <unistd.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/e2e/run_command.h"
#include "tests/support/require_dependency.h"

namespace atr {
namespace {

using testing::BuildDir;
using testing::ProgramPath;
using testing::RunCommand;
using testing::TempDir;

// Sums of the "atr-unwind:" lines of all processes of one run.
struct Report {
  int processes = 0;
  std::map<std::string, uint64_t> counts;  // table, fallback, compared, ...
  std::vector<std::string> mismatch_lines;
  std::string err;
  int exit_code = -1;
  uint64_t operator[](const std::string& key) const {
    auto it = counts.find(key);
    return it == counts.end() ? 0 : it->second;
  }
};

Report RunCrossChecked(const std::vector<std::string>& argv,
                       std::vector<std::string> env = {}) {
  TempDir spool;
  env.push_back("LD_PRELOAD=" + BuildDir() + "/lib/libatr_preload.so");
  env.push_back("ATR_SPOOL_DIR=" + spool.path());
  env.push_back("ATR_UNWIND=table");
  env.push_back("ATR_UNWIND_CROSSCHECK=1");
  testing::CommandResult r = RunCommand(argv, env);
  Report rep;
  rep.err = r.err;
  rep.exit_code = r.exit_code;
  for (absl::string_view line : absl::StrSplit(r.err, '\n')) {
    if (absl::StartsWith(line, "atr-unwind-mismatch:")) {
      rep.mismatch_lines.emplace_back(line);
      continue;
    }
    if (!absl::StartsWith(line, "atr-unwind:")) continue;
    ++rep.processes;
    for (absl::string_view field : absl::StrSplit(line, ' ')) {
      std::pair<std::string, std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
      uint64_t v;
      if (kv.first != "pid" && absl::SimpleAtoi(kv.second, &v)) rep.counts[kv.first] += v;
    }
  }
  return rep;
}

struct Case {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  // Fallback events allowed per compared event: signal frames (rec_signal)
  // go through the signal trampoline, which only libunwind describes.
  double max_fallback_share;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CrossCheck : public ::testing::TestWithParam<Case> {};

TEST_P(CrossCheck, TableStacksEqualLibunwindStacks) {
  const Case& c = GetParam();
  ATR_REQUIRE_DEPENDENCY(access(c.argv[0].c_str(), X_OK) == 0, c.argv[0]);
  Report rep = RunCrossChecked(c.argv, c.env);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  ASSERT_GE(rep.processes, 1) << rep.err;
  EXPECT_EQ(rep["mismatches"], 0u) << rep.err;
  EXPECT_EQ(rep["id_mismatches"], 0u) << rep.err;
  EXPECT_TRUE(rep.mismatch_lines.empty()) << rep.mismatch_lines.front();
  EXPECT_GT(rep["compared"], 0u);
  EXPECT_EQ(rep["compared"], rep["table"]);  // every table stack was checked
  EXPECT_LE(static_cast<double>(rep["fallback"]),
            c.max_fallback_share * static_cast<double>(rep["table"]) + 2 * rep.processes)
      << rep.err;
}

std::vector<Case> Cases() {
  std::string py = R"(
import json, threading
def work(n):
    for i in range(150):
        d = {str(k): (k, [k] * 3, 'v' * (k % 40)) for k in range(200)}
        json.loads(json.dumps(d))
ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
[t.start() for t in ts]
work(0)
[t.join() for t in ts]
)";
  std::string sql =
      "create table t(a integer primary key, b text);"
      "with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)"
      " insert into t(b) select printf('row %d', x) from c;"
      "create index tb on t(b); select count(*) from t;";
  return {
      {"rec_forms", {ProgramPath("rec_forms")}, {}, 0.0},
      {"rec_threads", {ProgramPath("rec_threads"), "20000"}, {}, 0.0},
      {"rec_fork", {ProgramPath("rec_fork")}, {}, 0.0},
      {"rec_dlopen", {ProgramPath("rec_dlopen"), ProgramPath("librec_plugin.so")}, {}, 0.0},
      {"rec_spawn", {ProgramPath("rec_spawn"), ProgramPath("rec_exec")}, {}, 0.0},
      {"rec_exec", {ProgramPath("rec_exec")}, {}, 0.0},
      {"rec_signal", {ProgramPath("rec_signal"), "60000"}, {}, 0.5},
      {"rec_exceptions", {ProgramPath("rec_exceptions"), "1500"}, {}, 0.0},
      {"alloc_heavy_o2", {ProgramPath("unwind_alloc_heavy"), "100000"}, {}, 0.0},
      {"python3", {"/usr/bin/python3", "-c", py}, {"PYTHONMALLOC=malloc"}, 0.0},
      {"sqlite3", {"/usr/bin/sqlite3", ":memory:", sql}, {}, 0.0},
  };
}

INSTANTIATE_TEST_SUITE_P(Programs, CrossCheck, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
}  // namespace atr
