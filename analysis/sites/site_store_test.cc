// The sites tables in a trace and in a standalone file; site_matches over
// frames and inline frames; the labels reports show; the unmatched report.
#include "analysis/sites/site_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/model/site_label.h"
#include "analysis/model/stack_view.h"
#include "analysis/reports/leaks_report.h"
#include "analysis/reports/sites_report.h"
#include "db/query.h"
#include "db/trace_writer.h"

namespace atr {
namespace {

using ::testing::HasSubstr;

std::string FreshPath(const std::string& name) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "atr_sites_" + std::to_string(getpid()) + "_" +
                     info->name() + "_" + name;
  for (const char* suffix : {"", "-journal"}) unlink((path + suffix).c_str());
  return path;
}

SourceSite Site(std::string file, int32_t line, int32_t column, SiteKind kind, std::string type,
                std::optional<int64_t> size, std::string function) {
  SourceSite s;
  s.file = std::move(file);
  s.line = line;
  s.column = column;
  s.end_line = line;
  s.kind = kind;
  s.type = std::move(type);
  s.type_size = size;
  s.function = std::move(function);
  return s;
}

std::vector<SourceSite> DemoSites() {
  std::vector<SourceSite> sites = {
      Site("/build/src/session.cc", 12, 12, SiteKind::kNew, "Session", 184, "demo::accept_loop"),
      Site("/build/src/session.cc", 22, 29, SiteKind::kMakeUnique, "Config", 96, "demo::load_config"),
      Site("/build/src/stack.cc", 9, 1, SiteKind::kStackFrame, "", 8300, "demo::work"),
  };
  sites[0].in_loop = true;
  sites[2].function_line = 9;
  sites[2].function_end_line = 16;
  return sites;
}

FrameRow Frame(int64_t id, std::string function, std::string file, int32_t line, int32_t column) {
  FrameRow f;
  f.id = id;
  f.module_id = 1;
  f.rel_pc = 0x1000 + static_cast<uint64_t>(id) * 16;
  f.function = std::move(function);
  f.file = std::move(file);
  f.line = line;
  f.column = column;
  return f;
}

// A trace recorded from a checkout in another directory than the scan's:
//   stack 3: operator new <- accept_loop (session.cc:12) <- main
//   stack 5: operator new <- std::make_unique<Config> inlined into load_config (session.cc:22) <- main
//   stack 7: malloc <- helper (helper.cc:5, not scanned) <- work (stack.cc:12) <- main
// Two Sessions and one Config and one helper block are leaked.
std::string WriteTrace() {
  std::string path = FreshPath("trace.db");
  auto w = TraceWriter::Create(path);
  EXPECT_TRUE(w.ok()) << w.status();
  TraceWriter& t = **w;
  ModuleRow m;
  m.id = 1;
  m.pid = 100;
  m.path = "/home/u/proj/build/demo";
  m.lo = 0x1000;
  m.hi = 0x9000;
  EXPECT_TRUE(t.PutModule(m).ok());
  const std::string src = "/home/u/proj/src/";
  EXPECT_TRUE(t.PutFrame(Frame(1, "main", src + "main.cc", 30, 3)).ok());
  EXPECT_TRUE(t.PutFrame(Frame(2, "demo::accept_loop(int)", src + "session.cc", 12, 28)).ok());
  EXPECT_TRUE(t.PutFrame(Frame(3, "operator new(unsigned long)", "/usr/src/new_op.cc", 50, 1)).ok());
  EXPECT_TRUE(t.PutFrame(Frame(4, "std::make_unique<demo::Config>()",
                               "/usr/include/c++/12/bits/unique_ptr.h", 1065, 30)).ok());
  InlineFrameRow in;
  in.depth = 1;
  in.function = "demo::load_config()";
  in.file = src + "session.cc";
  in.line = 22;
  in.column = 61;
  EXPECT_TRUE(t.PutInlineFrames(4, {in}).ok());
  EXPECT_TRUE(t.PutFrame(Frame(5, "helper()", src + "helper.cc", 5, 10)).ok());
  EXPECT_TRUE(t.PutFrame(Frame(6, "demo::work(int)", src + "stack.cc", 12, 10)).ok());
  EXPECT_TRUE(t.PutFrame(Frame(7, "malloc", "", 0, 0)).ok());
  for (StackNodeRow n : {StackNodeRow{1, 0, 1}, StackNodeRow{2, 1, 2}, StackNodeRow{3, 2, 3},
                         StackNodeRow{4, 1, 4}, StackNodeRow{5, 4, 3}, StackNodeRow{6, 1, 6},
                         StackNodeRow{8, 6, 5}, StackNodeRow{7, 8, 7}}) {
    EXPECT_TRUE(t.AddStackNode(n).ok());
  }
  int64_t seq = 0;
  auto alloc = [&](Op op, uint64_t addr, uint64_t size, int64_t stack) {
    EventRow e;
    e.seq = ++seq;
    e.pid = 100;
    e.tid = 100;
    e.op = op;
    e.addr = addr;
    e.size = size;
    e.stack = stack;
    EXPECT_TRUE(t.AddEvent(e).ok());
  };
  alloc(Op::kNew, 0x10000, 184, 3);
  alloc(Op::kNew, 0x20000, 184, 3);
  alloc(Op::kNew, 0x30000, 96, 5);
  alloc(Op::kMalloc, 0x40000, 500, 7);
  EXPECT_TRUE(t.Finish().ok());
  return path;
}

int64_t QueryInt(const TraceReader& r, const std::string& sql) {
  absl::StatusOr<QueryCursor> q = QueryCursor::Run(r, sql);
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok() || !q->Next()) return -1;
  return q->Int(0);
}

TEST(SiteStoreTest, StoresSitesAndMatchesFramesAndInlineFrames) {
  std::string path = WriteTrace();
  absl::StatusOr<StoreSummary> s = StoreSites(path, DemoSites(), {"/build/compile_commands.json", 3, 0, 1.5});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->is_trace);
  EXPECT_EQ(s->sites, 3);
  EXPECT_EQ(s->matched_lines, 2);     // accept_loop's line, load_config's inlined line
  EXPECT_EQ(s->function_matches, 1);  // work's line falls in its stack-frame site

  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(QueryInt(*r, "SELECT site_id FROM site_matches WHERE frame_id = 2 AND depth = 0"), 1);
  EXPECT_EQ(QueryInt(*r, "SELECT site_id FROM site_matches WHERE frame_id = 4 AND depth = 1"), 2);
  EXPECT_EQ(QueryInt(*r, "SELECT site_id FROM site_matches WHERE frame_id = 6 AND how = 'function'"), 3);
  EXPECT_EQ(QueryInt(*r, "SELECT count(*) FROM site_matches"), 3);
  EXPECT_EQ(r->Meta("sites_count"), "3");
  EXPECT_EQ(r->Meta("sites_database"), "/build/compile_commands.json");

  absl::StatusOr<std::vector<SourceSite>> back = ReadSites(*r);
  ASSERT_TRUE(back.ok()) << back.status();
  std::vector<SourceSite> want = DemoSites();
  for (size_t i = 0; i < want.size(); ++i) want[i].id = static_cast<int64_t>(i + 1);
  EXPECT_EQ(*back, want);

  // Storing again replaces, never duplicates.
  ASSERT_TRUE(StoreSites(path, DemoSites(), {}).ok());
  absl::StatusOr<TraceReader> r2 = TraceReader::Open(path);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(QueryInt(*r2, "SELECT count(*) FROM sites"), 3);
  EXPECT_EQ(QueryInt(*r2, "SELECT count(*) FROM site_matches"), 3);
}

TEST(SiteStoreTest, LabelsThroughInlinedFramesAndInLeaks) {
  std::string path = WriteTrace();
  ASSERT_TRUE(StoreSites(path, DemoSites(), {}).ok());
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<SiteLabels> labels = SiteLabels::Load(*r);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_FALSE(labels->empty());
  StackViews views(&*r);
  absl::StatusOr<const StackView*> v3 = views.Get(3);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(labels->Label(**v3), "new Session (184 B) at session.cc:12 in accept_loop()");
  absl::StatusOr<const StackView*> v5 = views.Get(5);
  ASSERT_TRUE(v5.ok());
  EXPECT_EQ(labels->Label(**v5), "make_unique Config (96 B) at session.cc:22 in load_config()");
  absl::StatusOr<const StackView*> v7 = views.Get(7);
  ASSERT_TRUE(v7.ok());
  EXPECT_FALSE(labels->Find(**v7).has_value());
  EXPECT_EQ(labels->Label(**v7), (*v7)->site_label);

  absl::StatusOr<LeakReport> leaks = ComputeLeaks(*r, {});
  ASSERT_TRUE(leaks.ok()) << leaks.status();
  std::string text = RenderLeaksText(*leaks);
  EXPECT_THAT(text, HasSubstr("new Session (184 B) at session.cc:12 in accept_loop()"));
  std::string json = RenderLeaksJson(*leaks);
  EXPECT_THAT(json, HasSubstr("\"source_site\":{\"id\":1,\"kind\":\"new\",\"type\":\"Session\","
                              "\"type_size\":184"));
  EXPECT_THAT(json, HasSubstr("\"source_site\":null"));  // the helper's block
}

TEST(SiteStoreTest, UnmatchedListsHotRecordedSitesWithoutASite) {
  std::string path = WriteTrace();
  ASSERT_TRUE(StoreSites(path, DemoSites(), {}).ok());
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<UnmatchedReport> u = ComputeUnmatched(*r, {});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->has_sites);
  EXPECT_EQ(u->recorded_sites, 3);
  EXPECT_EQ(u->matched_sites, 2);
  EXPECT_EQ(u->matched_bytes, 184 * 2 + 96);
  ASSERT_EQ(u->unmatched.size(), 1u);
  EXPECT_THAT(u->unmatched[0].label, HasSubstr("helper.cc:5"));
  EXPECT_EQ(u->unmatched[0].bytes, 500);
  EXPECT_THAT(RenderUnmatchedText(*u), HasSubstr("helper() "));
  EXPECT_THAT(RenderUnmatchedJson(*u), HasSubstr("\"unmatched_sites\":1"));
}

TEST(SiteStoreTest, TraceWithoutSitesLoadsEmptyLabels) {
  std::string path = WriteTrace();
  absl::StatusOr<TraceReader> r = TraceReader::Open(path);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<SiteLabels> labels = SiteLabels::Load(*r);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_TRUE(labels->empty());
  StackViews views(&*r);
  absl::StatusOr<const StackView*> v3 = views.Get(3);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(labels->Label(**v3), (*v3)->site_label);
}

TEST(SiteStoreTest, StandaloneFileRoundTripAndAttach) {
  std::string file = FreshPath("sites.db");
  absl::StatusOr<StoreSummary> s = StoreSites(file, DemoSites(), {"cc.json", 3, 1, 0.5});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->is_trace);
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<std::vector<SourceSite>> back = ReadSitesFile(file);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].type, "Session");

  std::string trace = WriteTrace();
  absl::StatusOr<StoreSummary> attached = StoreSites(trace, *back, {file, 0, 0, 0});
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_EQ(attached->matched_lines, 2);
}

TEST(SiteStoreTest, RefusesFilesThatAreNeitherTraceNorSites) {
  std::string path = FreshPath("other.txt");
  FILE* f = fopen(path.c_str(), "w");
  fputs("not sqlite", f);
  fclose(f);
  absl::StatusOr<StoreSummary> s = StoreSites(path, DemoSites(), {});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(path));
  absl::StatusOr<std::vector<SourceSite>> r = ReadSitesFile(FreshPath("missing.db"));
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace atr
