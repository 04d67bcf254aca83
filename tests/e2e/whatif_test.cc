// End-to-end: counterfactual replays (`atr whatif`, `atr frag --verify`) on
// the bundled example, whose fragmentation culprit is known by
// construction (examples/session_server.cc: keep_session's long-lived
// sessions pin the token spans), and golden `atr frag` output on a
// hand-written trace of the same pattern.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "db/trace_writer.h"
#include "tests/e2e/golden_file.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

class WhatIfTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trace_ = dir_->File("example.db");
    CommandResult r = RunCommand({AtrBinary(), "record", "-q", "-o", trace_, "--",
                                  ExamplePath("session_server"), "10000"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static std::string trace_;
};
TempDir* WhatIfTest::dir_ = nullptr;
std::string WhatIfTest::trace_;

struct MetricRow {
  int64_t baseline = -1;
  int64_t counterfactual = -1;
};

// The row `metric` of `atr whatif --csv` output.
MetricRow Metric(const std::string& csv, const std::string& metric) {
  MetricRow row;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    if (cells.size() < 3 || cells[0] != metric) continue;
    EXPECT_TRUE(absl::SimpleAtoi(cells[1], &row.baseline)) << line;
    EXPECT_TRUE(absl::SimpleAtoi(cells[2], &row.counterfactual)) << line;
  }
  return row;
}

CommandResult WhatIf(const std::string& trace, std::vector<std::string> args) {
  std::vector<std::string> argv = {AtrBinary(), "whatif", trace};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

TEST_F(WhatIfTest, SegregatingTheCulpritClearlyReducesPeakResident) {
  CommandResult r = WhatIf(trace_, {"--segregate", "keep_session", "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "metric,baseline,counterfactual,change,change_percent");
  MetricRow res = Metric(r.out, "peak_resident_bytes");
  ASSERT_GT(res.baseline, 0) << r.out;
  EXPECT_LT(res.counterfactual, res.baseline * 8 / 10) << r.out;  // 34% saved when written
  MetricRow slots = Metric(r.out, "free_slot_bytes");
  EXPECT_LT(slots.counterfactual, slots.baseline) << r.out;
  // Live memory is the program's: segregation does not change it.
  MetricRow live = Metric(r.out, "peak_live_bytes");
  EXPECT_EQ(live.baseline, live.counterfactual) << r.out;
}

TEST_F(WhatIfTest, TheCounterfactualIsStoredAndFragExplainsIt) {
  CommandResult r = WhatIf(trace_, {"--segregate", "keep_session", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"description\":\"segregate keep_session\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("keep_session"), r.out.rfind("keep_session")) << r.out;  // matched sites
  const size_t at = r.out.find("\"replay_id\":");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string id = r.out.substr(at + 12, r.out.find(',', at) - at - 12);
  ASSERT_NE(id, "null");
  CommandResult f = RunCommand({AtrBinary(), "frag", trace_, "--replay", id, "--json"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_NE(f.out.find("\"counterfactual\":\"segregate keep_session\""), std::string::npos)
      << f.out;
  // Without --replay, frag keeps explaining the program as recorded.
  CommandResult plain = RunCommand({AtrBinary(), "frag", trace_, "--json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("\"counterfactual\":null"), std::string::npos) << plain.out;
  // --no-store leaves no replay behind.
  CommandResult quiet = WhatIf(trace_, {"--segregate", "keep_session", "--no-store", "--json"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_NE(quiet.out.find("\"replay_id\":null"), std::string::npos) << quiet.out;
}

TEST_F(WhatIfTest, DroppingASiteReducesLive) {
  CommandResult r = WhatIf(trace_, {"--drop", "parse_request", "--csv", "--no-store"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  MetricRow live = Metric(r.out, "peak_live_bytes");
  ASSERT_GT(live.baseline, 0) << r.out;
  // The 1000 requests in flight x 24 tokens x 48 bytes (1.1 MiB) leave with
  // the site; the report's 10000 rows x 64 bytes become the live peak.
  EXPECT_LT(live.counterfactual, live.baseline * 7 / 10) << r.out;
  EXPECT_GE(live.counterfactual, 10000 * 64) << r.out;
  MetricRow res = Metric(r.out, "peak_resident_bytes");
  EXPECT_LT(res.counterfactual, res.baseline) << r.out;
}

TEST_F(WhatIfTest, AConfigChangeChangesTheResult) {
  CommandResult r =
      WhatIf(trace_, {"--config", "size_classes=tcmalloc", "--no-store", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("size_classes=go"), std::string::npos) << r.out;        // baseline
  EXPECT_NE(r.out.find("size_classes=tcmalloc"), std::string::npos) << r.out;  // the change
  CommandResult csv = WhatIf(trace_, {"--config", "size_classes=tcmalloc", "--no-store", "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  MetricRow res = Metric(csv.out, "peak_resident_bytes");
  EXPECT_NE(res.baseline, res.counterfactual) << csv.out;
  MetricRow live = Metric(csv.out, "peak_live_bytes");
  EXPECT_EQ(live.baseline, live.counterfactual) << csv.out;
}

TEST_F(WhatIfTest, VerifyRanksTheCulpritFirstWithRealSavings) {
  CommandResult r = RunCommand({AtrBinary(), "frag", trace_, "--verify", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t verify = r.out.find("\"verify\":{");
  ASSERT_NE(verify, std::string::npos) << r.out;
  const size_t first = r.out.find("{\"site\":\"", verify);
  ASSERT_NE(first, std::string::npos) << r.out;
  const std::string site = r.out.substr(first, r.out.find('}', first) - first);
  EXPECT_NE(site.find("keep_session"), std::string::npos) << site;
  const size_t saved = site.find("\"saved_bytes\":");
  ASSERT_NE(saved, std::string::npos) << site;
  EXPECT_GT(std::atoll(site.c_str() + saved + 14), 0) << site;
  // Text: after the estimate, the verified ranking leads with the culprit.
  CommandResult text = RunCommand({AtrBinary(), "frag", trace_, "--verify", "1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const size_t section = text.out.find("Verified:");
  ASSERT_NE(section, std::string::npos) << text.out;
  EXPECT_GT(section, text.out.find("Pinning sites"));
  EXPECT_NE(text.out.find("keep_session", section), std::string::npos) << text.out;
  // CSV: the pinning sites with their verified savings.
  CommandResult csv = RunCommand({AtrBinary(), "frag", trace_, "--verify", "1", "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')),
            "rank,pinned_bytes,spans,live_objects,median_age_events,never_freed_share,stack,"
            "saved_bytes,verified_rank,site");
}

TEST_F(WhatIfTest, BadInputIsOneLineAndANonZeroExit) {
  CommandResult unknown = WhatIf(trace_, {"--segregate", "no_such_function"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("'no_such_function' matches no allocation site"), std::string::npos)
      << unknown.err;
  CommandResult key = WhatIf(trace_, {"--config", "no_such_key=1"});
  EXPECT_EQ(key.exit_code, 1);
  EXPECT_NE(key.err.find("no_such_key"), std::string::npos) << key.err;
  CommandResult value = WhatIf(trace_, {"--config", "page_size"});
  EXPECT_EQ(value.exit_code, 1) << value.err;
  EXPECT_EQ(WhatIf(trace_, {}).exit_code, 2);  // no change
  EXPECT_EQ(WhatIf(trace_, {"--drop", "keep_session", "--segregate", "keep_session"}).exit_code, 2);
  for (const char* k : {"0", "-2", "many"}) {
    CommandResult bad = RunCommand({AtrBinary(), "frag", trace_, "--verify", k});
    EXPECT_EQ(bad.exit_code, 2) << k << ": " << bad.err;
  }
  for (const CommandResult& r : {unknown, key, value}) {
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // one line
  }
}

// ---- Golden: `atr frag` on a hand-written trace -------------------------
//
// One thread; stacks are main -> parse_request | keep_session | build_report,
// every frame symbolized. 2000 requests: each allocates 8 tokens of 48 B,
// every 16th also a 48-byte session kept to the end; tokens are freed in
// batches of 1000 requests; then 4000 rows of 64 B are allocated and freed.
// The sessions pin the token spans, so the rows need pages of their own:
// segregating keep_session must save about the rows' 256 KiB of peak.
// The built-in model is deterministic, so the whole report is.

enum : StackId { kMain = 1, kParse = 2, kKeep = 3, kReport = 4 };

void WriteSessionTrace(const std::string& path) {
  absl::StatusOr<std::unique_ptr<TraceWriter>> w = TraceWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  TraceWriter& t = **w;
  constexpr int32_t kPid = 7000;
  ASSERT_TRUE(t.PutProcess({.pid = kPid, .started_seq = 1}).ok());
  ModuleRow exe{.id = 1, .pid = kPid, .path = "/usr/bin/sessions", .build_id = "5e5510f5",
                .bias = 0x400000, .lo = 0x400000, .hi = 0x500000, .loaded_seq = 1,
                .unloaded_seq = std::nullopt};
  ASSERT_TRUE(t.PutModule(exe).ok());
  const struct {
    int64_t id;
    const char* function;
    int32_t line;
  } frames[] = {{kMain, "main", 90}, {kParse, "parse_request(int)", 20},
                {kKeep, "keep_session(int)", 30}, {kReport, "build_report(int)", 40}};
  for (const auto& f : frames) {
    FrameRow row;
    row.id = f.id;
    row.module_id = 1;
    row.rel_pc = 0x1000 + 0x100 * static_cast<uint64_t>(f.id);
    row.function = f.function;
    row.file = "/src/sessions.cc";
    row.line = f.line;
    ASSERT_TRUE(t.PutFrame(row).ok());
    ASSERT_TRUE(t.AddStackNode({.id = f.id, .parent = f.id == kMain ? StackId{0} : StackId{kMain}, .frame = f.id})
                    .ok());
  }
  int64_t seq = 0;
  auto add = [&](Op op, uint64_t addr, uint64_t size, StackId stack) {
    EventRow e;
    e.seq = ++seq;
    e.ts_ns = seq * 1000;
    e.pid = kPid;
    e.tid = kPid;
    e.op = op;
    e.addr = addr;
    e.size = size;
    e.stack = stack;
    ASSERT_TRUE(t.AddEvent(e).ok());
  };
  add(Op::kProcessStart, 0, 0, 0);
  uint64_t next = 0x10000000;
  std::vector<uint64_t> tokens;
  for (int request = 0; request < 2000; ++request) {
    for (int i = 0; i < 8; ++i) {
      tokens.push_back(next);
      add(Op::kNew, next, 48, kParse);
      next += 64;
    }
    if (request % 16 == 0) {
      add(Op::kNew, next, 48, kKeep);
      next += 64;
    }
    if (request % 1000 == 999) {
      for (uint64_t a : tokens) add(Op::kDelete, a, 0, kParse);
      tokens.clear();
    }
  }
  std::vector<uint64_t> rows;
  for (int i = 0; i < 4000; ++i) {
    rows.push_back(next);
    add(Op::kNew, next, 64, kReport);
    next += 64;
  }
  for (uint64_t a : rows) add(Op::kDelete, a, 0, kReport);
  add(Op::kProcessExit, 0, 0, 0);
  ASSERT_TRUE(t.Finish().ok());
}

// Compares with tests/golden/NAME, or rewrites it under ATR_UPDATE_GOLDEN=1.
void ExpectGolden(const std::string& name, const std::string& actual) {
  ExpectMatchesGolden(std::string(ATR_GOLDEN_DIR) + "/" + name, actual);
}

TEST(FragGoldenTest, TextJsonAndCsvWithVerify) {
  TempDir dir;
  const std::string trace = dir.File("sessions.db");
  WriteSessionTrace(trace);
  CommandResult text = RunCommand({AtrBinary(), "frag", trace, "--verify", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  ExpectGolden("frag_sessions.txt", text.out);
  CommandResult json = RunCommand({AtrBinary(), "frag", trace, "--verify", "2", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ExpectGolden("frag_sessions.json", json.out);
  CommandResult csv = RunCommand({AtrBinary(), "frag", trace, "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  ExpectGolden("frag_sessions.csv", csv.out);
  CommandResult whatif = RunCommand(
      {AtrBinary(), "whatif", trace, "--segregate", "keep_session", "--no-store"});
  ASSERT_EQ(whatif.exit_code, 0) << whatif.err;
  ExpectGolden("whatif_sessions.txt", whatif.out);
}

}  // namespace
}  // namespace atr::testing
