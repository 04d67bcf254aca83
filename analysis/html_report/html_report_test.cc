#include "analysis/html_report/html_report.h"

#include <string>

#include "analysis/flamegraph/test_trace.h"
#include "analysis/flamegraph/xml_check.h"
#include "db/db_test_util.h"
#include "gtest/gtest.h"
#include "replayer/replay_store.h"

namespace atr {
namespace {

using ::atr::testing::CheckWellFormedXml;

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = atr::testing::FreshPath("report.db");
    atr::testing::WriteFlameTestTrace(path_);
  }
  std::string Render() {
    absl::StatusOr<TraceReader> r = TraceReader::Open(path_);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    absl::StatusOr<std::string> html = RenderHtmlReport(*r, {.generated_utc = "now"});
    EXPECT_TRUE(html.ok()) << html.status();
    return html.ok() ? *html : "";
  }
  void StoreReplay() {
    replay::ReplayRun run;
    run.summary.allocator = "builtin";
    run.summary.config = "test";
    run.summary.threads = "model";
    run.summary.peak_resident_bytes = 8192;
    run.summary.live_at_peak_resident = 42;
    run.snapshot_seq = 7;
    run.samples.push_back({.seq = 2, .live_bytes = 150, .resident_bytes = 4096});
    run.samples.push_back({.seq = 7, .live_bytes = 42, .resident_bytes = 8192});
    run.spans.push_back({.address = 0x10000, .size_class = 3, .object_size = 48, .pages = 1,
                         .capacity = 4, .live_requested_bytes = 37, .free_bytes = 96,
                         .allocation_ids = {4, 5}});
    run.spans.push_back({.address = 0x20000, .size_class = 1, .object_size = 8, .pages = 1,
                         .capacity = 3, .live_requested_bytes = 5, .free_bytes = 10,
                         .allocation_ids = {7}});
    replay::Problem p;
    p.kind = replay::ProblemKind::kDoubleFree;
    p.pid = 42;
    p.offending = {.seq = 3, .tid = 42, .op = Op::kFree, .stack = 5};
    p.detail = "freed <twice> & more";
    run.problems.Add(p);
    absl::StatusOr<int64_t> id = replay::StoreReplay(path_, run);
    ASSERT_TRUE(id.ok()) << id.status();
  }
  std::string path_;
};

// Every <svg>...</svg> of the page.
std::vector<std::string> Svgs(const std::string& html) {
  std::vector<std::string> out;
  for (size_t i = html.find("<svg"); i != std::string::npos; i = html.find("<svg", i + 1)) {
    size_t e = html.find("</svg>", i);
    if (e == std::string::npos) break;
    out.push_back(html.substr(i, e + 6 - i));
  }
  return out;
}

TEST_F(HtmlReportTest, WithoutReplayHasEverySectionAndSaysWhatToRun) {
  std::string html = Render();
  for (const char* id : {"id=\"summary\"", "id=\"timeline\"", "id=\"flamegraph\"",
                         "id=\"fragmentation\"", "id=\"leaks\"", "id=\"checks\""}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  EXPECT_NE(html.find("atr replay</code> for fragmentation causes"), std::string::npos);
  EXPECT_NE(html.find("atr check</code>"), std::string::npos);
  // Flame graph tabs: peak, bytes, calls, leaked (pinned needs a replay).
  EXPECT_EQ(Svgs(html).size(), 4u);
  EXPECT_NE(html.find("data-metric=\"peak\""), std::string::npos);
  EXPECT_EQ(html.find("<button class=\"fg-tab\" data-metric=\"pinned\""), std::string::npos);
  // The leak table: 42 bytes in 3 allocations.
  EXPECT_NE(html.find("42 B in 3 allocations"), std::string::npos);
  // Self-contained: no external resources.
  EXPECT_EQ(html.find("src=\""), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST_F(HtmlReportTest, EverySymbolNameIsEscaped) {
  std::string html = Render();
  EXPECT_EQ(html.find(atr::testing::kOddName), std::string::npos);
  EXPECT_EQ(html.find("cmp<a&b"), std::string::npos);
  EXPECT_NE(html.find("ns::cmp&lt;a&amp;b, &quot;q&quot;, &#39;c&#39;&gt;::operator&lt;"),
            std::string::npos);
  for (const std::string& svg : Svgs(html)) EXPECT_EQ(CheckWellFormedXml(svg), "");
}

TEST_F(HtmlReportTest, TimelineDataIsEmbeddedWithThePeak) {
  std::string html = Render();
  size_t at = html.find("id=\"timeline-data\">");
  ASSERT_NE(at, std::string::npos);
  std::string json = html.substr(at, html.find("</script>", at) - at);
  EXPECT_NE(json.find("\"peak_bytes\":150"), std::string::npos) << json;
  EXPECT_NE(json.find("[2000,150]"), std::string::npos) << json;  // ts of seq 2
  EXPECT_NE(json.find("live heap"), std::string::npos);
}

TEST_F(HtmlReportTest, WithReplayShowsCausesChecksAndResident) {
  StoreReplay();
  std::string html = Render();
  EXPECT_EQ(html.find("for fragmentation causes"), std::string::npos);
  // Causes ranked by pinned bytes: two sites with 48 B, then ns::cmp with 10 B.
  size_t frag = html.find("id=\"fragmentation\"");
  ASSERT_NE(frag, std::string::npos);
  size_t first = html.find("48 B", frag);
  size_t odd = html.find("ns::cmp&lt;", frag);
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(odd, std::string::npos);
  EXPECT_LT(first, odd);
  EXPECT_NE(html.find("double free"), std::string::npos);
  EXPECT_NE(html.find("freed &lt;twice&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("modelled resident (builtin, replay 1)"), std::string::npos);
  EXPECT_NE(html.find("data-metric=\"pinned\""), std::string::npos);
  EXPECT_EQ(Svgs(html).size(), 5u);
}

TEST_F(HtmlReportTest, CausesFromTheFragReportAreUsedAsGiven) {
  absl::StatusOr<TraceReader> r = TraceReader::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  FragmentationCauses f;
  f.replay_id = 7;
  f.allocator = "builtin";
  f.causes.push_back({.stack = 1, .site = "keep<Session&>()", .pinned_bytes = 4096,
                      .live_objects = 3, .note = "allocated near the peak"});
  absl::StatusOr<std::string> html = RenderHtmlReport(*r, {.fragmentation = f});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_NE(html->find("keep&lt;Session&amp;&gt;()"), std::string::npos);
  EXPECT_NE(html->find("allocated near the peak"), std::string::npos);
  EXPECT_NE(html->find("4.00 KiB"), std::string::npos);
}

}  // namespace
}  // namespace atr
