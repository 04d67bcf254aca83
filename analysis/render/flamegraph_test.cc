#include <map>
#include <string>

#include "analysis/model/flame_graph.h"
#include "analysis/render/flame_svg.h"
#include "analysis/render/markup.h"
#include "analysis/render/test_trace.h"
#include "analysis/render/xml_check.h"
#include "db/db_test_util.h"
#include "gtest/gtest.h"

namespace atr {
namespace {

using ::atr::testing::CheckWellFormedXml;

class FlameGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = atr::testing::FreshPath("flame.db");
    atr::testing::WriteFlameTestTrace(path_);
    Reopen();
  }

  std::string Folded(FlameMetric m) {
    absl::StatusOr<FlameGraph> g = BuildFlameGraph(*reader_, {.metric = m});
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? RenderFolded(*g) : "";
  }

  // The fixture's replay (test_trace.h), or its source sites; reopens the
  // reader to see the new tables.
  void StoreReplayWithSnapshot() {
    atr::testing::StoreFlameTestReplay(path_);
    Reopen();
  }
  void StoreSites() {
    atr::testing::StoreFlameTestSites(path_);
    Reopen();
  }
  void Reopen() {
    absl::StatusOr<TraceReader> r = TraceReader::Open(path_);
    ASSERT_TRUE(r.ok()) << r.status();
    reader_ = std::make_unique<TraceReader>(std::move(*r));
  }

  std::string path_;
  std::unique_ptr<TraceReader> reader_;
};

TEST_F(FlameGraphTest, FoldedCallsAreExact) {
  EXPECT_EQ(Folded(FlameMetric::kCalls),
            "main;handle_request 1\n"
            "main;handle_request;load_config 1\n"
            "main;handle_request;parse_request;tokenize 2\n"
            "main;handle_request;strdup 1\n"
            "main;ns::cmp<a&b, \"q\", 'c'>::operator< 1\n");
}

TEST_F(FlameGraphTest, FoldedBytesAreExact) {
  EXPECT_EQ(Folded(FlameMetric::kBytes),
            "main;handle_request 7\n"
            "main;handle_request;load_config 100\n"
            "main;handle_request;parse_request;tokenize 80\n"
            "main;handle_request;strdup 64\n"
            "main;ns::cmp<a&b, \"q\", 'c'>::operator< 5\n");
}

TEST_F(FlameGraphTest, FoldedLeakedIsWhatWasNeverFreed) {
  EXPECT_EQ(Folded(FlameMetric::kLeaked),
            "main;handle_request 7\n"
            "main;handle_request;parse_request;tokenize 30\n"
            "main;ns::cmp<a&b, \"q\", 'c'>::operator< 5\n");
}

TEST_F(FlameGraphTest, FoldedPeakIsWhatWasLiveAtThePeak) {
  // Peak of live bytes: 150 at seq 2 (seq 1's 100 bytes and seq 2's 50).
  EXPECT_EQ(reader_->MetaInt("alloc_peak_live_seq"), 2);
  EXPECT_EQ(Folded(FlameMetric::kPeak),
            "main;handle_request;load_config 100\n"
            "main;handle_request;parse_request;tokenize 50\n");
}

TEST_F(FlameGraphTest, PinnedWithoutReplaySaysWhatToRun) {
  absl::StatusOr<FlameGraph> g = BuildFlameGraph(*reader_, {.metric = FlameMetric::kPinned});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("no replay with span snapshots: run atr replay first"),
            std::string::npos)
      << g.status();
}

TEST_F(FlameGraphTest, PinnedSharesEachSpansFreeBytesAmongItsLiveObjects) {
  StoreReplayWithSnapshot();
  EXPECT_EQ(Folded(FlameMetric::kPinned),
            "main;handle_request 48\n"
            "main;handle_request;parse_request;tokenize 48\n"
            "main;ns::cmp<a&b, \"q\", 'c'>::operator< 10\n");
  absl::StatusOr<FlameGraph> g =
      BuildFlameGraph(*reader_, {.metric = FlameMetric::kPinned, .replay_id = 99});
  EXPECT_FALSE(g.ok());
}

TEST_F(FlameGraphTest, TreeMergesEqualNamesAndKeepsInlinedFrames) {
  absl::StatusOr<FlameGraph> g = BuildFlameGraph(*reader_, {.metric = FlameMetric::kBytes});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->total(), 256);
  EXPECT_EQ(g->stacks, 5);
  EXPECT_EQ(g->max_depth, 4);
  ASSERT_EQ(g->nodes.size(), 8u);  // all, main, handle_request, 4 above it, ns::cmp
  int tokenize = -1, strdup = -1;
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    if (g->nodes[i].name == "tokenize") tokenize = static_cast<int>(i);
    if (g->nodes[i].name == "strdup") strdup = static_cast<int>(i);
  }
  ASSERT_GE(tokenize, 0);
  EXPECT_TRUE(g->nodes[tokenize].inlined);
  EXPECT_FALSE(g->nodes[tokenize].runtime);
  EXPECT_EQ(g->nodes[g->nodes[tokenize].parent].name, "parse_request");
  ASSERT_GE(strdup, 0);
  EXPECT_TRUE(g->nodes[strdup].runtime);
}

TEST_F(FlameGraphTest, SignaturesKeepParameterLists) {
  absl::StatusOr<FlameGraph> g =
      BuildFlameGraph(*reader_, {.metric = FlameMetric::kCalls, .signatures = true});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_NE(RenderFolded(*g).find("main;handle_request(int);load_config(int) 1\n"),
            std::string::npos);
}

TEST_F(FlameGraphTest, MatchedSourceSitesAnnotateTheirFrame) {
  StoreSites();
  absl::StatusOr<FlameGraph> g = BuildFlameGraph(*reader_, {.metric = FlameMetric::kBytes});
  ASSERT_TRUE(g.ok()) << g.status();
  const std::string label = "new Config (96 B) at config.cc:30 in load_config()";
  for (const FlameNode& n : g->nodes) {
    if (n.name == "load_config") {
      ASSERT_EQ(n.sites.size(), 1u);
      EXPECT_EQ(n.sites[0].label, label);
      EXPECT_EQ(n.sites[0].weight, 100);
    } else if (n.name == "handle_request") {
      // Its own 7 bytes and strdup's 64: strdup is runtime, so the site
      // line of that stack is handle_request's.
      ASSERT_EQ(n.sites.size(), 1u);
      EXPECT_EQ(n.sites[0].label, "malloc Header (7 B) at server.cc:20 in handle_request()");
      EXPECT_EQ(n.sites[0].weight, 71);
    } else {
      EXPECT_TRUE(n.sites.empty()) << n.name;  // only the site frame of a matched stack
    }
  }
  // Folded stacks are unchanged; the SVG tooltip names the site.
  EXPECT_NE(RenderFolded(*g).find("main;handle_request;load_config 100\n"), std::string::npos);
  std::string svg = RenderFlameSvg(*g);
  EXPECT_EQ(CheckWellFormedXml(svg), "");
  EXPECT_NE(svg.find("<title>load_config\n100 B (39.06%)\n" + label + ": 100 B</title>"),
            std::string::npos)
      << svg;
}

TEST(FlameFrameNameTest, StripsParametersQualifiersAndClones) {
  EXPECT_EQ(FlameFrameName("load_config(int)", false), "load_config");
  EXPECT_EQ(FlameFrameName("Foo::bar(std::vector<int, std::allocator<int> > const&) const", false),
            "Foo::bar");
  EXPECT_EQ(FlameFrameName("Foo::operator()(int) const", false), "Foo::operator()");
  EXPECT_EQ(FlameFrameName("(anonymous namespace)::run(void (*)(int))", false),
            "(anonymous namespace)::run");
  EXPECT_EQ(FlameFrameName("f() [clone .cold]", false), "f");
  EXPECT_EQ(FlameFrameName("f() [clone .cold]", true), "f()");
  EXPECT_EQ(FlameFrameName("main", false), "main");
  EXPECT_EQ(FlameFrameName("(anonymous namespace)::load_config(int) (.constprop.0)", false),
            "(anonymous namespace)::load_config");
  EXPECT_EQ(FlameFrameName("g(int) (.isra.0) (.cold)", true), "g(int)");
  EXPECT_EQ(FlameFrameName("operator()", false), "operator()");
  EXPECT_EQ(FlameFrameName("std::_Invoker<int>::operator()", false),
            "std::_Invoker<int>::operator()");
  EXPECT_EQ(FlameFrameName("operator new(unsigned long)", false), "operator new");
  EXPECT_EQ(FlameFrameName("malloc", false), "malloc");
}

TEST(FoldedTest, SeparatorsInNamesAreReplacedAndLinesSorted) {
  FlameTreeBuilder b;
  b.Add({{.name = "b"}, {.name = "x;y"}}, 3);
  b.Add({{.name = "a"}}, 1);
  b.Add({{.name = "b"}}, 2);
  b.Add({{.name = "b"}, {.name = "x;y"}}, 4);
  b.Add({{.name = "c\nd"}}, 0);  // zero weight: no line
  EXPECT_EQ(RenderFolded(b.Finish()), "a 1\nb 2\nb;x:y 7\n");
}

TEST(EscapeMarkupTest, EscapesTheFiveCharacters) {
  EXPECT_EQ(EscapeMarkup("f<T>(a&b, \"s\", 'c')"),
            "f&lt;T&gt;(a&amp;b, &quot;s&quot;, &#39;c&#39;)");
  EXPECT_EQ(EscapeMarkup("plain name"), "plain name");
  EXPECT_EQ(EscapeMarkup(""), "");
}

TEST(EscapeMarkupTest, KeepsUtf8AndReplacesWhatXmlForbids) {
  EXPECT_EQ(EscapeMarkup("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(EscapeMarkup("a\tb\nc"), "a\tb\nc");
  EXPECT_EQ(EscapeMarkup(std::string("a\x01z", 3)), "a\xEF\xBF\xBDz");
  EXPECT_EQ(EscapeMarkup(std::string("a\0z", 3)), "a\xEF\xBF\xBDz");
  EXPECT_EQ(EscapeMarkup("bad \xC3 end"), "bad \xEF\xBF\xBD end");      // truncated sequence
  EXPECT_EQ(EscapeMarkup("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");     // overlong '/'
  EXPECT_EQ(EscapeMarkup("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST_F(FlameGraphTest, SvgIsWellFormedAndEscapesNames) {
  absl::StatusOr<FlameGraph> g = BuildFlameGraph(*reader_, {.metric = FlameMetric::kBytes});
  ASSERT_TRUE(g.ok()) << g.status();
  std::string svg = RenderFlameSvg(*g, {.title = "t <&> \"'"});
  std::map<std::string, int> elements;
  EXPECT_EQ(CheckWellFormedXml(svg, &elements), "");
  EXPECT_EQ(elements["svg"], 1);
  EXPECT_EQ(elements["g"], 8);     // one per frame
  EXPECT_EQ(elements["rect"], 9);  // frames + background
  EXPECT_EQ(elements["title"], 8);
  EXPECT_EQ(elements["script"], 1);
  EXPECT_NE(svg.find("ns::cmp&lt;a&amp;b, &quot;q&quot;, &#39;c&#39;&gt;::operator&lt;"),
            std::string::npos);
  EXPECT_EQ(svg.find("cmp<a&b"), std::string::npos);
  EXPECT_NE(svg.find("t &lt;&amp;&gt; &quot;&#39;"), std::string::npos);
  EXPECT_NE(svg.find("<![CDATA["), std::string::npos);
  EXPECT_EQ(svg.find("http://", svg.find("xmlns") + 40), std::string::npos);  // no network
  // Widths are proportional to weight: load_config is 100 of 256 bytes.
  EXPECT_NE(svg.find("data-w=\"100\""), std::string::npos);
}

TEST_F(FlameGraphTest, SvgOfAnEmptyGraphIsWellFormed) {
  FlameGraph g = FlameTreeBuilder().Finish();
  EXPECT_EQ(CheckWellFormedXml(RenderFlameSvg(g)), "");
}

TEST(XmlCheckTest, CatchesBrokenDocuments) {
  EXPECT_EQ(CheckWellFormedXml("<a><b x=\"1\"/>t &amp; u</a>"), "");
  EXPECT_NE(CheckWellFormedXml("<a><b></a></b>"), "");
  EXPECT_NE(CheckWellFormedXml("<a>x & y</a>"), "");
  EXPECT_NE(CheckWellFormedXml("<a x=1></a>"), "");
  EXPECT_NE(CheckWellFormedXml("<a x=\"<\"></a>"), "");
  EXPECT_NE(CheckWellFormedXml("<a>"), "");
}

}  // namespace
}  // namespace atr
