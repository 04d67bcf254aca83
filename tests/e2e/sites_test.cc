// End-to-end: tests/sites_project is recorded, scanned with `atr sites`,
// and the sites table, site_matches and `atr leaks --json` must name the
// type and line of every "// SITE:" marker in its sources; the flame graph,
// the HTML report, `atr temp`, `lifetimes`, `sizes`, `diff` and `frag`
// label the sites the same way.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analysis/sites/site_store.h"
#include "db/query.h"
#include "db/trace_reader.h"
#include "tests/e2e/run_command.h"

namespace atr::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Marker {
  std::string file;  // base name
  int line = 0;
  std::string description;  // what SiteDescription must start with
};

// "// SITE: new Session" and "/* SITE: malloc Buf */" lines of the project.
std::vector<Marker> ReadMarkers() {
  std::vector<Marker> out;
  std::regex marker(R"(SITE: ([^*]*?)\s*(\*/)?$)");
  for (const auto& entry : std::filesystem::directory_iterator(ATR_SITES_PROJECT_SRC)) {
    std::ifstream in(entry.path());
    std::string text;
    for (int line = 1; std::getline(in, text); ++line) {
      std::smatch m;
      if (std::regex_search(text, m, marker)) {
        out.push_back({entry.path().filename().string(), line, m[1].str()});
      }
    }
  }
  return out;
}

std::string Base(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Every "source_site":{...} object of a leaks JSON document, as text.
std::vector<std::string> SourceSiteObjects(const std::string& json) {
  std::vector<std::string> out;
  const std::string key = "\"source_site\":{";
  for (size_t p = json.find(key); p != std::string::npos; p = json.find(key, p + 1)) {
    size_t end = json.find('}', p);
    out.push_back(json.substr(p + key.size() - 1, end - p - key.size() + 2));
  }
  return out;
}

class SitesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    trace_ = dir_->File("run.db");
    CommandResult rec = RunCommand(
        {AtrBinary(), "record", "-q", "-o", trace_, "--", std::string(ATR_SITES_PROJECT_BIN) + "/sites_demo"});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    scan_ = new CommandResult(RunCommand({AtrBinary(), "sites", "-q", "-j", "2", "-p", ATR_SITES_PROJECT_BIN, trace_}));
  }
  static void TearDownTestSuite() {
    delete scan_;
    delete dir_;
  }
  static void ScanFindsEveryMarkedSiteWithItsType();
  static void LeaksReportNamesTypeAndLineOfEveryLeakedSite();
  static void FramesMatchThroughInlinedCallsAndStackFrames();
  static void UnmatchedListsOnlyWhatTheScanCannotExplain();
  static void FlameGraphAndReportShowTypeAndLine();
  static void OtherReportsShowTypeAndLine();
  static TempDir* dir_;
  static std::string trace_;
  static CommandResult* scan_;
};

TempDir* SitesTest::dir_ = nullptr;
std::string SitesTest::trace_;
CommandResult* SitesTest::scan_ = nullptr;

void SitesTest::ScanFindsEveryMarkedSiteWithItsType() {
  EXPECT_EQ(scan_->err, "");  // every file parsed
  absl::StatusOr<std::vector<SourceSite>> sites = ReadSitesFile(trace_);
  ASSERT_TRUE(sites.ok()) << sites.status();
  std::vector<Marker> markers = ReadMarkers();
  ASSERT_GE(markers.size(), 18u);
  for (const Marker& m : markers) {
    std::vector<std::string> found;
    bool ok = false;
    for (const SourceSite& s : *sites) {
      if (Base(s.file) != m.file || s.line != m.line) continue;
      std::string d = SiteDescription(s);
      found.push_back(d);
      if (d.rfind(m.description, 0) == 0) ok = true;
    }
    EXPECT_TRUE(ok) << m.file << ":" << m.line << " wants \"" << m.description << "\", scanned: "
                    << ::testing::PrintToString(found);
  }
}

void SitesTest::LeaksReportNamesTypeAndLineOfEveryLeakedSite() {
  CommandResult leaks = RunCommand({AtrBinary(), "leaks", "--json", "--limit", "0", trace_});
  ASSERT_EQ(leaks.exit_code, 0) << leaks.err;
  std::vector<std::string> objects = SourceSiteObjects(leaks.out);
  std::string all = ::testing::PrintToString(objects);
  // Blocks the program leaks on purpose: one group per site (the template
  // line twice, one per instantiation).
  std::map<std::string, std::string> want = {
      {"session.cc", "\"label\":\"new Session (184 B) at session.cc:"},
      {"session.cc#2", "\"label\":\"new Packet[] (64 B each) at session.cc:"},
      {"session.cc#3", "\"label\":\"make_unique Config (96 B) at session.cc:"},
      {"session.cc#4", "\"label\":\"make_shared Cache (256 B) at session.cc:"},
      {"session.h", "\"label\":\"new Session (184 B) at session.h:"},
      {"session.h#2", "\"label\":\"new Config (96 B) at session.h:"},
      {"buffers.c", "\"label\":\"malloc Buf (40 B) at buffers.c:"},
      {"buffers.c#2", "\"label\":\"calloc Entry (16 B) at buffers.c:"},
      {"buffers.c#3", "\"label\":\"realloc char (300 B) at buffers.c:"},
      {"stack.cc", "\"label\":\"strdup char at stack.cc:"},
      {"containers.cc", "\"label\":\"push_back Item (24 B) at containers.cc:"},
      {"containers.cc#2", "\"label\":\"append char at containers.cc:"},
      {"containers.cc#3", "\"kind\":\"container\",\"type\":\"std::pair<const std::"},
  };
  for (const auto& [name, text] : want) {
    bool found = false;
    for (const std::string& o : objects) found = found || o.find(text) != std::string::npos;
    EXPECT_TRUE(found) << name << ": no source_site with " << text << " in " << all;
  }
  // Lines agree with the markers.
  for (const Marker& m : ReadMarkers()) {
    if (m.description.rfind("new Session", 0) == 0 || m.description.rfind("make_shared", 0) == 0) {
      std::string at = m.file + ":" + std::to_string(m.line) + " in ";
      EXPECT_THAT(all, HasSubstr(at)) << m.description;
    }
  }
  // The text report leads with the same label.
  CommandResult text = RunCommand({AtrBinary(), "leaks", "--limit", "0", trace_});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("allocations  new Session (184 B) at session.cc:"));
}

void SitesTest::FramesMatchThroughInlinedCallsAndStackFrames() {
  absl::StatusOr<TraceReader> r = TraceReader::Open(trace_);
  ASSERT_TRUE(r.ok()) << r.status();
  auto count = [&](const std::string& sql) {
    absl::StatusOr<QueryCursor> q = QueryCursor::Run(*r, sql);
    EXPECT_TRUE(q.ok()) << q.status();
    return q.ok() && q->Next() ? q->Int(0) : -1;
  };
  // make_unique and push_back are inlined std:: code: the user line is an
  // inline_frames row (depth > 0) that matched.
  EXPECT_GT(count("SELECT count(*) FROM site_matches m JOIN sites s ON s.id = m.site_id "
                  "WHERE m.depth > 0 AND s.kind IN ('make_unique', 'make_shared', 'container')"),
            0);
  // use_stack_buffers has a 8 KiB array and an alloca: its frame line is in
  // the function's stack_frame site.
  EXPECT_GT(count("SELECT count(*) FROM site_matches m JOIN sites s ON s.id = m.site_id "
                  "WHERE m.how = 'function' AND s.kind = 'stack_frame' "
                  "AND s.function LIKE '%use_stack_buffers' AND s.type_size >= 8192"),
            0);
  EXPECT_EQ(r->Meta("sites_files"), "5");
}

void SitesTest::UnmatchedListsOnlyWhatTheScanCannotExplain() {
  CommandResult u = RunCommand({AtrBinary(), "sites", "--unmatched", "--json", "--limit", "0", trace_});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_THAT(u.out, HasSubstr("\"has_sites\":true"));
  // Every allocation the program makes itself is explained; what is left
  // is the C/C++ runtime's own (stdio, locale, the dynamic loader...).
  EXPECT_THAT(u.out, ::testing::Not(HasSubstr("session.cc")));
  EXPECT_THAT(u.out, ::testing::Not(HasSubstr("containers.cc")));
  EXPECT_THAT(u.out, ::testing::Not(HasSubstr("buffers.c")));
}

// The label of the Session that accept_loop leaks (session.cc, "SITE: new Session").
constexpr char kSessionLabel[] = "new Session (184 B) at session.cc:";

void SitesTest::FlameGraphAndReportShowTypeAndLine() {
  // Flame graph: the frame of the site carries the label in its tooltip.
  CommandResult svg = RunCommand({AtrBinary(), "flamegraph", "--metric", "leaked", trace_});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  size_t at = svg.out.find(kSessionLabel);
  ASSERT_NE(at, std::string::npos) << svg.out.substr(0, 2000);
  size_t title = svg.out.rfind("<title>", at);
  ASSERT_NE(title, std::string::npos);
  EXPECT_EQ(svg.out.find("</title>", title) > at, true) << "the label is inside a tooltip";
  EXPECT_THAT(svg.out.substr(title, at - title), HasSubstr("accept_loop"));
  for (const char* label : {"malloc Buf (40 B) at buffers.c:", "make_unique Config (96 B) at session.cc:",
                            "push_back Item (24 B) at containers.cc:"}) {
    EXPECT_THAT(svg.out, HasSubstr(label));
  }
  // The HTML report: the leaks table and the flame graphs. (A copy: the
  // report stores a built-in replay in the trace.)
  TempDir tmp;
  std::string copy = tmp.File("run.db");
  ASSERT_EQ(RunCommand({"cp", trace_, copy}).exit_code, 0);
  std::string html = tmp.File("report.html");
  CommandResult r = RunCommand({AtrBinary(), "report", copy, "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(html);
  std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t leaks = page.find("id=\"leaks\"");
  ASSERT_NE(leaks, std::string::npos);
  EXPECT_NE(page.find(std::string("<summary>") + kSessionLabel, leaks), std::string::npos);
  size_t flame = page.find("id=\"flamegraph\"");
  ASSERT_NE(flame, std::string::npos);
  EXPECT_LT(page.find(kSessionLabel, flame), page.find("id=\"fragmentation\""));
}

void SitesTest::OtherReportsShowTypeAndLine() {
  // temp lists the sites with temporary allocations: main's malloc(10),
  // which grow_text reallocs at once; lifetimes and sizes list every site.
  CommandResult temp = RunCommand({AtrBinary(), "temp", "--limit", "0", trace_});
  ASSERT_EQ(temp.exit_code, 0) << temp.err;
  EXPECT_THAT(temp.out, HasSubstr("malloc char (10 B) at main.cc:"));
  for (const char* report : {"lifetimes", "sizes"}) {
    CommandResult r = RunCommand({AtrBinary(), report, "--limit", "0", trace_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(kSessionLabel)) << report;
    EXPECT_THAT(r.out, HasSubstr("calloc Entry (16 B) at buffers.c:")) << report;
  }
  // diff from a run never given sites: the sited run's sites are named by
  // type and line (and the plain run's by function, file and line).
  TempDir tmp;
  std::string plain = tmp.File("plain.db");
  CommandResult rec = RunCommand(
      {AtrBinary(), "record", "-q", "-o", plain, "--", std::string(ATR_SITES_PROJECT_BIN) + "/sites_demo"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  CommandResult diff = RunCommand({AtrBinary(), "diff", "--limit", "0", plain, trace_});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr(kSessionLabel));
  EXPECT_THAT(diff.out, HasSubstr("accept_loop(int) sites_project/session.cc:"));
  // frag (a copy: it stores a built-in replay): every site it names that
  // the scan explains reads "kind type at file:line".
  std::string copy = tmp.File("run.db");
  ASSERT_EQ(RunCommand({"cp", trace_, copy}).exit_code, 0);
  CommandResult frag = RunCommand({AtrBinary(), "frag", "--json", "--limit", "100", copy});
  ASSERT_EQ(frag.exit_code, 0) << frag.err;
  EXPECT_THAT(frag.out, HasSubstr(kSessionLabel));
  std::regex plain_site(R"re("(site|top_site)":"[^"]*(session|buffers|containers)\.(cc|c|h):)re");
  std::regex labelled(R"re("(site|top_site)":"[a-z_\[\]]+ [^"]* at (session|buffers|containers)\.(cc|c|h):)re");
  for (std::sregex_iterator it(frag.out.begin(), frag.out.end(), plain_site), end; it != end; ++it) {
    std::string m = it->str();
    EXPECT_TRUE(std::regex_search(m, labelled)) << "unlabelled project site in frag: " << m;
  }
}

// One recording and one scan (seconds each) serve every check below.
TEST_F(SitesTest, RecordedRunIsScannedMatchedAndReported) {
  ASSERT_EQ(scan_->exit_code, 0) << scan_->err;
  {
    SCOPED_TRACE("ScanFindsEveryMarkedSiteWithItsType");
    ScanFindsEveryMarkedSiteWithItsType();
  }
  {
    SCOPED_TRACE("LeaksReportNamesTypeAndLineOfEveryLeakedSite");
    LeaksReportNamesTypeAndLineOfEveryLeakedSite();
  }
  {
    SCOPED_TRACE("FramesMatchThroughInlinedCallsAndStackFrames");
    FramesMatchThroughInlinedCallsAndStackFrames();
  }
  {
    SCOPED_TRACE("UnmatchedListsOnlyWhatTheScanCannotExplain");
    UnmatchedListsOnlyWhatTheScanCannotExplain();
  }
  {
    SCOPED_TRACE("FlameGraphAndReportShowTypeAndLine");
    FlameGraphAndReportShowTypeAndLine();
  }
  {
    SCOPED_TRACE("OtherReportsShowTypeAndLine");
    OtherReportsShowTypeAndLine();
  }
}

TEST(SitesCommandTest, MissingCompilationDatabaseIsOneLineAndExit1) {
  TempDir d;
  CommandResult r = RunCommand({AtrBinary(), "sites", "-p", d.path(), "-o", d.File("s.db")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("atr: sites: " + d.path() + ": no compile_commands.json"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(SitesCommandTest, BrokenFileIsReportedAndTheRestIsStored) {
  TempDir d;
  std::string good = std::string(ATR_SITES_PROJECT_SRC) + "/session.cc";
  std::ofstream(d.File("broken.cc")) << "int broken() { return missing_name; }\nint* ok() { return new int; }\n";
  std::ofstream(d.File("compile_commands.json"))
      << "[{\"directory\": \"" << d.path() << "\", \"file\": \"" << good
      << "\", \"arguments\": [\"c++\", \"-std=c++20\", \"-c\", \"" << good << "\"]},"
      << " {\"directory\": \"" << d.path()
      << "\", \"file\": \"broken.cc\", \"arguments\": [\"c++\", \"-c\", \"broken.cc\"]}]";
  CommandResult r = RunCommand({AtrBinary(), "sites", "-q", "-p", d.path(), "-o", d.File("s.db")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("atr: sites: " + d.path() + "/broken.cc: broken.cc:1:23: use of undeclared identifier 'missing_name'"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  absl::StatusOr<std::vector<SourceSite>> sites = ReadSitesFile(d.File("s.db"));
  ASSERT_TRUE(sites.ok()) << sites.status();
  bool session = false, from_broken = false;
  for (const SourceSite& s : *sites) {
    session = session || s.type == "Session";
    from_broken = from_broken || Base(s.file) == "broken.cc";
  }
  EXPECT_TRUE(session);
  EXPECT_TRUE(from_broken) << "the rest of a file with errors is still scanned";

  // The standalone file attaches to a trace later.
  std::string trace = d.File("t.db");
  ASSERT_EQ(RunCommand({AtrBinary(), "record", "-q", "-o", trace, "--",
                        std::string(ATR_SITES_PROJECT_BIN) + "/sites_demo"})
                .exit_code,
            0);
  CommandResult attach = RunCommand({AtrBinary(), "sites", "--from", d.File("s.db"), trace});
  EXPECT_EQ(attach.exit_code, 0) << attach.err;
  CommandResult leaks = RunCommand({AtrBinary(), "leaks", trace});
  EXPECT_THAT(leaks.out, HasSubstr("new Session (184 B) at session.cc:"));
  // top and frag label sites the same way.
  CommandResult top = RunCommand({AtrBinary(), "top", trace, "--limit", "0"});
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("new Session (184 B) at session.cc:"));
}

}  // namespace
}  // namespace atr::testing
