#include "analysis/render/html_report.h"

#include <string>

#include "analysis/render/test_trace.h"
#include "analysis/render/xml_check.h"
#include "db/db_test_util.h"
#include "gtest/gtest.h"

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
  void StoreReplay() { atr::testing::StoreFlameTestReplay(path_); }
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
  EXPECT_NE(html.find("for fragmentation causes"), std::string::npos);
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

TEST_F(HtmlReportTest, WithReplayShowsTheFragReportChecksAndResident) {
  StoreReplay();
  std::string html = Render();
  EXPECT_EQ(html.find("for fragmentation causes"), std::string::npos);
  // The frag report: breakdown, then pinning sites ranked by pinned bytes,
  // two sites with 48 B (the culprit first), then ns::cmp with 10 B.
  size_t frag = html.find("id=\"fragmentation\"");
  ASSERT_NE(frag, std::string::npos);
  EXPECT_NE(html.find("free slots in partly used spans", frag), std::string::npos);
  size_t pinning = html.find("id=\"pinning\"", frag);
  ASSERT_NE(pinning, std::string::npos);
  size_t culprit = html.find("Culprit: <code>", frag);
  ASSERT_NE(culprit, std::string::npos);
  EXPECT_LT(culprit, pinning);
  size_t first = html.find("48 B", pinning);
  size_t odd = html.find("ns::cmp&lt;", pinning);
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(odd, std::string::npos);
  EXPECT_LT(first, odd);
  EXPECT_NE(html.find("double free"), std::string::npos);
  EXPECT_NE(html.find("freed &lt;twice&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("modelled resident (builtin, replay 1)"), std::string::npos);
  EXPECT_NE(html.find("data-metric=\"pinned\""), std::string::npos);
  EXPECT_EQ(Svgs(html).size(), 5u);
}

TEST_F(HtmlReportTest, AGivenFragReportIsShownAsGiven) {
  absl::StatusOr<TraceReader> r = TraceReader::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  FragReport f;
  f.replay_id = 7;
  f.peak = {.seq = 5, .live = 100, .internal_waste = 0, .free_slots = 4096, .cached = 0,
            .retained = 0, .released = 0, .resident = 8192, .mapped = 8192,
            .fragmentation = 0.5};
  f.attributed_bytes = 4096;
  f.pinning.push_back({.site = "keep<Session&>()", .top_stack = 1, .pinned_bytes = 4096,
                       .spans = 1, .live_objects = 3, .median_age_events = 2,
                       .never_freed_share = 1, .stack = {}});
  f.waste.push_back({.class_size = 48, .objects = 2, .waste_bytes = 11, .top_site = "w<x>"});
  f.survivors.push_back({.site = "survivor()", .objects = 1, .bytes = 30});
  f.mixing.push_back({.class_size = 48, .spans = 1, .mixing_decades = 1.25});
  absl::StatusOr<std::string> html = RenderHtmlReport(*r, {.fragmentation = f});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_NE(html->find("Culprit: <code>keep&lt;Session&amp;&gt;()</code> pins 4.00 KiB (100.0%)"),
            std::string::npos);
  EXPECT_NE(html->find("50.0% fragmentation"), std::string::npos);
  EXPECT_NE(html->find("w&lt;x&gt;"), std::string::npos);
  EXPECT_NE(html->find("survivor()"), std::string::npos);
  EXPECT_NE(html->find(">1.2<"), std::string::npos);  // mixing, one decimal
}

TEST_F(HtmlReportTest, WithoutStackDepthsTheSectionIsOneNote) {
  std::string html = Render();
  // The fixture's events carry no sp_depth: a one-line note, no chart.
  size_t at = html.find("id=\"stack-section\"");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(html.find("No stack depths in this trace", at), std::string::npos);
  EXPECT_EQ(html.find("id=\"stack-depth\""), std::string::npos);
}

TEST_F(HtmlReportTest, SourceSitesLabelFlameGraphsLeaksAndPinningSites) {
  atr::testing::StoreFlameTestSites(path_);
  StoreReplay();
  std::string html = Render();
  const std::string header = "malloc Header (7 B) at server.cc:20 in handle_request()";
  // handle_request's leaked block (7 B at seq 5) and its share of span
  // 0x10000 (48 B); load_config's block is freed, so it is in the flame
  // graphs' tooltips only.
  for (const char* section : {"id=\"leaks\"", "id=\"pinning\"", "id=\"flamegraph\""}) {
    size_t at = html.find(section);
    ASSERT_NE(at, std::string::npos) << section;
    EXPECT_NE(html.find(header, at), std::string::npos) << section;
  }
  size_t leaks = html.find("id=\"leaks\"");
  EXPECT_NE(html.find("<summary>" + header + "</summary>", leaks), std::string::npos);
  EXPECT_NE(html.find("new Config (96 B) at config.cc:30 in load_config()"), std::string::npos);
}

}  // namespace
}  // namespace atr
