// End-to-end: `atr flamegraph` and `atr report` on the recorded example
// (examples/session_server), and the report opened in headless Chromium:
// the page loads without script errors, the charts are drawn, and a
// screenshot is taken (set ATR_REPORT_SHOT_DIR to keep it). The report of
// tests/programs/stack_ops recorded with --stack-ops draws its threads'
// stack depths.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "analysis/render/xml_check.h"
#include "db/query.h"
#include "db/trace_reader.h"
#include "tests/e2e/run_command.h"
#include "tests/support/require_dependency.h"

namespace atr::testing {
namespace {

constexpr char kChromium[] = "/usr/bin/chromium";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + 1)) ++n;
  return n;
}

std::vector<std::string> ChromiumArgv(const TempDir& tmp, const std::string& profile,
                                      const std::string& html, std::vector<std::string> extra) {
  std::vector<std::string> argv = {"timeout", "60", kChromium, "--headless", "--no-sandbox",
                                   "--disable-gpu", "--disable-quic", "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update", "--disable-sync",
                                   "--user-data-dir=" + tmp.File(profile),
                                   "--enable-logging=stderr", "--v=0",
                                   "--window-size=1280,2000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("file://" + html);
  return argv;
}

// Opens `html` in headless Chromium and returns the DOM after the page's
// scripts ran; fails the test on any script error.
std::string DumpDomWithoutErrors(const TempDir& tmp, const std::string& html) {
  CommandResult dom =
      RunCommand(ChromiumArgv(tmp, "profile-dom", html, {"--dump-dom"}), {"HOME=" + tmp.path()});
  EXPECT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_EQ(dom.err.find("Uncaught"), std::string::npos) << dom.err;
  // The page's error hook sets <html data-js-errors="N"> on any error.
  size_t html_tag = dom.out.find("<html");
  EXPECT_NE(html_tag, std::string::npos);
  if (html_tag == std::string::npos) return "";
  size_t errors = dom.out.find("js-errors\"");
  EXPECT_EQ(dom.out.substr(html_tag, dom.out.find('>', html_tag) - html_tag).find("data-js-errors"),
            std::string::npos)
      << dom.out.substr(errors == std::string::npos ? 0 : errors, 400);
  return dom.out;
}

// The chart <div id=ID> of a dumped DOM, as drawn by the page's script.
std::string ChartBox(const std::string& dom, const std::string& id) {
  size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return dom.substr(at, dom.find("</div>", at) - at);
}

// The first row of the table with id `table` (after its header row).
std::string FirstRow(const std::string& page, const std::string& table) {
  size_t at = page.find("<table id=\"" + table + "\">");
  if (at == std::string::npos) return "";
  size_t row = page.find("<tr><td", at);
  return row == std::string::npos ? "" : page.substr(row, page.find("</tr>", row) - row);
}

// One trace of the example shared by the tests (recording takes a moment).
class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trace_ = dir_->File("t.db");
    CommandResult r = RunCommand({AtrBinary(), "record", "-q", "-o", trace_, "--",
                                  ExamplePath("session_server"), "3000"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static CommandResult Atr(std::vector<std::string> args) {
    args.insert(args.begin(), AtrBinary());
    return RunCommand(args);
  }
  static TempDir* dir_;
  static std::string trace_;
};
TempDir* ReportTest::dir_ = nullptr;
std::string ReportTest::trace_;

TEST_F(ReportTest, FoldedStacksNameTheExamplesFunctions) {
  CommandResult r = Atr({"flamegraph", trace_, "--metric", "leaked", "--folded"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // load_config leaks 200 bytes per 100 requests: 30 blocks.
  bool found = false;
  int64_t leaked_by_load_config = 0;
  std::istringstream lines(r.out);
  std::string prev;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(prev, line) << "folded lines are sorted";
    prev = line;
    size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    // The leaking function, possibly inlined or in an anonymous namespace.
    if (line.find("load_config") != std::string::npos) {
      found = true;
      leaked_by_load_config += std::stoll(line.substr(space + 1));
    }
  }
  EXPECT_TRUE(found) << r.out;
  EXPECT_EQ(leaked_by_load_config, 30 * 200) << r.out;
}

TEST_F(ReportTest, SvgIsWellFormedAndPinnedNeedsAReplay) {
  CommandResult r = Atr({"flamegraph", trace_, "--metric", "peak", "-o", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, int> elements;
  EXPECT_EQ(CheckWellFormedXml(r.out, &elements), "");
  EXPECT_GT(elements["g"], 5);
  EXPECT_NE(r.out.find("keep_session"), std::string::npos);

  TempDir copy;
  std::string trace = copy.File("t.db");
  ASSERT_EQ(RunCommand({"cp", trace_, trace}).exit_code, 0);
  r = Atr({"flamegraph", trace, "--metric", "pinned", "--folded"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no replay with span snapshots: run atr replay first"), std::string::npos)
      << r.err;
  EXPECT_EQ(Count(r.err, "\n"), 1) << r.err;
  ASSERT_EQ(Atr({"replay", trace}).exit_code, 0);
  r = Atr({"flamegraph", trace, "--metric", "pinned", "--folded"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Every free byte of the snapshot's partly used spans is attributed
  // (each stack's share is rounded to whole bytes).
  int64_t pinned = 0, lines = 0;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line); ++lines) {
    pinned += std::stoll(line.substr(line.rfind(' ') + 1));
  }
  absl::StatusOr<TraceReader> reader = TraceReader::Open(trace);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(
      *reader, "SELECT sum(free_bytes) FROM replay_spans WHERE live_objects > 0 AND replay_id = "
               "(SELECT max(id) FROM replays WHERE snapshot_seq IS NOT NULL)");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->Next());
  EXPECT_GT(q->Int(0), 0);
  EXPECT_LE(std::abs(pinned - q->Int(0)), lines) << r.out;
}

TEST_F(ReportTest, ErrorsAreOneLine) {
  CommandResult r = Atr({"report", dir_->File("missing.db"), "-o", dir_->File("x.html")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Count(r.err, "\n"), 1) << r.err;
  r = Atr({"flamegraph", trace_, "--metric", "nope"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Atr({"report", trace_, "--no-replay", "-o", dir_->File("no/such/dir/r.html")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

TEST_F(ReportTest, ReportRunsAReplayAndExplainsFragmentationCulpritFirst) {
  TempDir tmp;
  std::string trace = tmp.File("t.db");
  ASSERT_EQ(RunCommand({"cp", trace_, trace}).exit_code, 0);
  std::string html = tmp.File("report.html");
  CommandResult r = Atr({"report", trace, "-o", html});  // no replay yet: report runs one
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::string page = ReadFile(html);
  size_t frag = page.find("id=\"fragmentation\"");
  ASSERT_NE(frag, std::string::npos);
  EXPECT_EQ(page.find("for fragmentation causes"), std::string::npos);
  // The frag report's sections, the culprit (keep_session, which keeps the
  // sessions that pin the token spans) named first and ranked first.
  EXPECT_NE(page.find("fragmentation</b>", frag), std::string::npos);
  size_t culprit = page.find("Culprit: <code>", frag);
  ASSERT_NE(culprit, std::string::npos);
  EXPECT_NE(page.substr(culprit, page.find("</code>", culprit) - culprit).find("keep_session"),
            std::string::npos)
      << page.substr(culprit, 300);
  EXPECT_NE(FirstRow(page, "pinning").find("keep_session"), std::string::npos)
      << FirstRow(page, "pinning");
  EXPECT_NE(page.find("<table id=\"waste\">", frag), std::string::npos);
  EXPECT_NE(page.find("<table id=\"mixing\">", frag), std::string::npos);
  // The replay was stored: `atr frag` agrees on the culprit.
  CommandResult f = Atr({"frag", trace, "--limit", "1"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_NE(f.out.find("keep_session"), std::string::npos) << f.out;
  // --no-replay on a trace without one: the section says what to run.
  ASSERT_EQ(RunCommand({"cp", trace_, trace}).exit_code, 0);
  r = Atr({"report", trace, "--no-replay", "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadFile(html).find("for fragmentation causes"), std::string::npos);
}

TEST_F(ReportTest, ReportOpensInHeadlessChromium) {
  TempDir tmp;
  std::string trace = tmp.File("t.db");
  ASSERT_EQ(RunCommand({"cp", trace_, trace}).exit_code, 0);
  ASSERT_EQ(Atr({"replay", trace}).exit_code, 0);  // resident series, causes, checks
  std::string html = tmp.File("report.html");
  CommandResult r = Atr({"report", trace, "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string page = ReadFile(html);
  EXPECT_NE(page.find("keep_session"), std::string::npos);
  EXPECT_EQ(page.find("for fragmentation causes"), std::string::npos);  // the replay is there

  ATR_REQUIRE_DEPENDENCY(access(kChromium, X_OK) == 0, std::string(kChromium));
  std::string dom = DumpDomWithoutErrors(tmp, html);
  // The timeline was drawn by the page's script: data-drawn and its paths.
  std::string chart = ChartBox(dom, "timeline");
  EXPECT_NE(chart.find("data-drawn=\"1\""), std::string::npos) << chart.substr(0, 300);
  EXPECT_GE(Count(chart, "<path"), 3) << "live area + live line + modelled resident";
  // The sampled stack depths (every heap event has one): the main thread.
  std::string stack = ChartBox(dom, "stack-depth");
  EXPECT_NE(stack.find("data-drawn=\"1\""), std::string::npos) << stack.substr(0, 300);
  EXPECT_GE(Count(stack, "class=\"series\""), 1);
  // Every flame graph's script ran.
  EXPECT_GE(Count(dom, "class=\"atr-flamegraph\""), 4);
  EXPECT_EQ(Count(dom, "class=\"atr-flamegraph\""), Count(dom, "data-drawn=\"1\"") - 2);
  // The fragmentation section survived the page's scripts.
  EXPECT_NE(FirstRow(dom, "pinning").find("keep_session"), std::string::npos);

  std::string shot = tmp.File("shot.png");
  CommandResult s = RunCommand(
      ChromiumArgv(tmp, "profile-shot", html, {"--screenshot=" + shot, "--hide-scrollbars"}),
      {"HOME=" + tmp.path()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.err.find("Uncaught"), std::string::npos) << s.err;
  std::string png = ReadFile(shot);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(png[at])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(png[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(png[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(png[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);  // IHDR width
  EXPECT_EQ(be32(20), 2000u);  // IHDR height
  EXPECT_GT(png.size(), 30000u) << "a page with charts, not a blank one";
  if (const char* keep = std::getenv("ATR_REPORT_SHOT_DIR")) {
    RunCommand({"cp", shot, html, keep});
  }
}

TEST(StackDepthReportTest, StackOpsTraceDrawsEveryThreadsDepth) {
  TempDir tmp;
  std::string trace = tmp.File("stack.db");
  CommandResult rec = RunCommand({AtrBinary(), "record", "-q", "--stack-ops", "-o", trace, "--",
                                  ProgramPath("stack_ops")});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  std::string html = tmp.File("report.html");
  CommandResult r = RunCommand({AtrBinary(), "report", trace, "--no-replay", "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string page = ReadFile(html);
  size_t section = page.find("id=\"stack-section\"");
  ASSERT_NE(section, std::string::npos);
  EXPECT_NE(page.find("Exact: the enter/exit stream", section), std::string::npos);
  // Two threads (main and the worker), each a series; the deepest point is
  // the main thread's 8 KiB frame plus 21 levels of recurse.
  size_t data = page.find("id=\"stack-depth-data\">");
  ASSERT_NE(data, std::string::npos);
  std::string json = page.substr(data, page.find("</script>", data) - data);
  EXPECT_EQ(Count(json, "\"points\":"), 2) << json.substr(0, 400);
  EXPECT_NE(json.find("\"name\":\"main "), std::string::npos) << json.substr(0, 400);
  EXPECT_NE(json.find("\"name\":\"thread "), std::string::npos) << json.substr(0, 400);
  size_t peak = json.find("\"peak_bytes\":");
  ASSERT_NE(peak, std::string::npos);
  EXPECT_GT(std::stoll(json.substr(peak + 13)), 8192);
  EXPECT_NE(page.find("recurse \xE2\x86\x90 recurse", section), std::string::npos);

  ATR_REQUIRE_DEPENDENCY(access(kChromium, X_OK) == 0, std::string(kChromium));
  std::string dom = DumpDomWithoutErrors(tmp, html);
  std::string chart = ChartBox(dom, "stack-depth");
  EXPECT_NE(chart.find("data-drawn=\"1\""), std::string::npos) << chart.substr(0, 300);
  EXPECT_EQ(Count(chart, "class=\"series\""), 2) << chart.substr(0, 300);
}

}  // namespace
}  // namespace atr::testing
