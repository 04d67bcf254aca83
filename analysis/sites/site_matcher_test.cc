#include "analysis/sites/site_matcher.h"

#include <gtest/gtest.h>

namespace atr {
namespace {

SourceSite Site(std::string file, int32_t line, int32_t column, SiteKind kind, std::string type,
                std::string function, SiteTemplate templ = SiteTemplate::kNone, int32_t end_line = 0) {
  SourceSite s;
  s.file = std::move(file);
  s.line = line;
  s.column = column;
  s.end_line = end_line == 0 ? line : end_line;
  s.kind = kind;
  s.type = std::move(type);
  s.function = std::move(function);
  s.templ = templ;
  return s;
}

TEST(SiteMatcherTest, CommonPathSuffix) {
  EXPECT_EQ(CommonPathSuffix("/a/b/c.cc", "/a/b/c.cc"), 3);
  EXPECT_EQ(CommonPathSuffix("/home/u/proj/src/c.cc", "/build/src/c.cc"), 2);
  EXPECT_EQ(CommonPathSuffix("c.cc", "/x/c.cc"), 1);
  EXPECT_EQ(CommonPathSuffix("/x/c.cc", "/x/d.cc"), 0);
}

TEST(SiteMatcherTest, NormalizeFunctionName) {
  EXPECT_EQ(NormalizeFunctionName("srv::Server::accept_loop(int)"), "srv::Server::accept_loop");
  EXPECT_EQ(NormalizeFunctionName("srv::Server::accept_loop"), "srv::Server::accept_loop");
  EXPECT_EQ(NormalizeFunctionName("Foo* (anonymous namespace)::make_one<Foo>()"), "make_one<Foo>");
  EXPECT_EQ(NormalizeFunctionName("std::vector<int, std::allocator<int> >::push_back(int const&)"),
            "std::vector<int,std::allocator<int>>::push_back");
  EXPECT_EQ(NormalizeFunctionName("main::{lambda()#1}::operator()() const"), "main::{lambda}");
  EXPECT_EQ(NormalizeFunctionName("main::{lambda}"), "main::{lambda}");
  EXPECT_EQ(NormalizeFunctionName("Pool<int>::operator()(int)"), "Pool<int>::operator()");
}

TEST(SiteMatcherTest, FileAndLineWithMovedSourceTree) {
  SiteMatcher m({Site("/build/src/server.cc", 212, 5, SiteKind::kNew, "Session", "srv::accept_loop"),
                 Site("/build/lib/server.cc", 212, 5, SiteKind::kNew, "Other", "lib::accept_loop")});
  const SourceSite* s = m.MatchHeap({"/home/u/proj/src/server.cc", 212, 14, "srv::accept_loop(int)"});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, "Session");
  EXPECT_EQ(m.MatchHeap({"/home/u/proj/src/server.cc", 213, 0, ""}), nullptr);
  EXPECT_EQ(m.MatchHeap({"/home/u/proj/src/client.cc", 212, 0, ""}), nullptr);
  EXPECT_EQ(m.MatchHeap({"", 212, 0, ""}), nullptr);
}

TEST(SiteMatcherTest, ColumnPicksAmongSitesOnOneLine) {
  // v.push_back(new Item)  -- the growth starts at column 3, the new at 15.
  SiteMatcher m({Site("/s/a.cc", 10, 3, SiteKind::kContainerGrowth, "Item*", "f"),
                 Site("/s/a.cc", 10, 15, SiteKind::kNew, "Item", "f")});
  EXPECT_EQ(m.MatchHeap({"/s/a.cc", 10, 15, "f()"})->kind, SiteKind::kNew);
  EXPECT_EQ(m.MatchHeap({"/s/a.cc", 10, 5, "f()"})->kind, SiteKind::kContainerGrowth);
}

TEST(SiteMatcherTest, MultiLineExpressionMatchesItsLaterLines) {
  SiteMatcher m({Site("/s/a.cc", 10, 3, SiteKind::kNew, "Big", "f", SiteTemplate::kNone, 13)});
  EXPECT_NE(m.MatchHeap({"/s/a.cc", 12, 0, "f()"}), nullptr);
  EXPECT_EQ(m.MatchHeap({"/s/a.cc", 14, 0, "f()"}), nullptr);
}

TEST(SiteMatcherTest, TemplateInstantiationByFunctionElsePattern) {
  SiteMatcher m({Site("/s/t.h", 7, 40, SiteKind::kNew, "T", "create_one", SiteTemplate::kPattern),
                 Site("/s/t.h", 7, 40, SiteKind::kNew, "Config", "create_one<Config>",
                      SiteTemplate::kInstantiation),
                 Site("/s/t.h", 7, 40, SiteKind::kNew, "Item", "create_one<Item>",
                      SiteTemplate::kInstantiation)});
  EXPECT_EQ(m.MatchHeap({"/s/t.h", 7, 40, "Item* create_one<Item>()"})->type, "Item");
  EXPECT_EQ(m.MatchHeap({"/s/t.h", 7, 40, "Config* create_one<Config>()"})->type, "Config");
  // An instantiation the scan did not see (its TU failed): the pattern.
  EXPECT_EQ(m.MatchHeap({"/s/t.h", 7, 40, "Other* create_one<Other>()"})->type, "T");
}

TEST(SiteMatcherTest, StackFrameSiteByFunctionExtent) {
  SourceSite frame = Site("/s/stack.cc", 9, 1, SiteKind::kStackFrame, "", "work");
  frame.function_line = 9;
  frame.function_end_line = 16;
  frame.type_size = 8300;
  SiteMatcher m({frame});
  EXPECT_EQ(m.MatchHeap({"/s/stack.cc", 12, 0, "work(int)"}), nullptr);
  ASSERT_NE(m.MatchFunction({"/s/stack.cc", 12, 0, "work(int)"}), nullptr);
  EXPECT_EQ(m.MatchFunction({"/s/stack.cc", 17, 0, "other()"}), nullptr);
}

TEST(SiteMatcherTest, Descriptions) {
  SourceSite s = Site("/s/server.cc", 212, 5, SiteKind::kNew, "Session", "srv::accept_loop");
  s.type_size = 184;
  EXPECT_EQ(SiteDescription(s), "new Session (184 B)");
  s.kind = SiteKind::kContainerGrowth;
  s.detail = "std::vector<Session>::push_back";
  EXPECT_EQ(SiteDescription(s), "push_back Session (184 B)");
  s.kind = SiteKind::kNewArray;
  EXPECT_EQ(SiteDescription(s), "new Session[] (184 B each)");
  SourceSite m = Site("/s/c.c", 3, 1, SiteKind::kMalloc, "", "f");
  m.bytes = 200;
  m.detail = "malloc";
  EXPECT_EQ(SiteDescription(m), "malloc (200 B)");
  SourceSite f = Site("/s/c.c", 3, 1, SiteKind::kStackFrame, "", "f");
  f.type_size = 20000;
  EXPECT_EQ(SiteDescription(f), "stack frame (~19.5 KiB)");
}

}  // namespace
}  // namespace atr
