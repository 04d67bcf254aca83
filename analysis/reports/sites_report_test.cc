// The two ways a source site is written — the `atr sites` list (text, JSON,
// CSV) and the `source_site` object a report attaches to a stack — come from
// one table (SourceSiteTable); these pin their exact output so folding them
// together changed nothing, and so neither drifts from docs/sites.md.
#include "analysis/reports/sites_report.h"

#include <gtest/gtest.h>

#include "analysis/model/site_label.h"
#include "base/json_writer.h"

namespace atr {
namespace {

SourceSite SessionSite() {
  SourceSite s;
  s.id = 7;
  s.file = "/src/server/session.cc";
  s.line = 12;
  s.column = 15;
  s.end_line = 13;
  s.function = "srv::Server::accept_loop";
  s.kind = SiteKind::kNew;
  s.type = "Session";
  s.type_size = 184;
  s.in_loop = true;
  return s;
}

constexpr char kLabel[] = "new Session (184 B) at session.cc:12 in accept_loop()";

TEST(SitesReportTest, SourceSiteObjectHasTheAnnotationFields) {
  JsonWriter j;
  WriteSiteJson(j, SiteAnnotation{SessionSite(), kLabel});
  EXPECT_EQ(j.str(),
            "{\"id\":7,\"kind\":\"new\",\"type\":\"Session\",\"type_size\":184,\"bytes\":null,"
            "\"file\":\"/src/server/session.cc\",\"line\":12,\"column\":15,"
            "\"function\":\"srv::Server::accept_loop\",\"in_loop\":true,\"template\":\"\","
            "\"detail\":\"\",\"label\":\"" + std::string(kLabel) + "\"}");
  JsonWriter none;
  WriteSiteJson(none, std::nullopt);
  EXPECT_EQ(none.str(), "null");
}

TEST(SitesReportTest, SiteListAddsEndLine) {
  EXPECT_EQ(RenderSitesJson({SessionSite()}),
            "[{\"id\":7,\"kind\":\"new\",\"type\":\"Session\",\"type_size\":184,\"bytes\":null,"
            "\"file\":\"/src/server/session.cc\",\"line\":12,\"column\":15,\"end_line\":13,"
            "\"function\":\"srv::Server::accept_loop\",\"in_loop\":true,\"template\":\"\","
            "\"detail\":\"\",\"label\":\"" + std::string(kLabel) + "\"}]\n");
  EXPECT_EQ(RenderSitesCsv({SessionSite()}),
            "id,kind,type,type_size,bytes,file,line,column,end_line,function,in_loop,template,"
            "detail,label\n"
            "7,new,Session,184,,/src/server/session.cc,12,15,13,srv::Server::accept_loop,true,,,"
            + std::string(kLabel) + "\n");
}

TEST(SitesReportTest, SiteListTextShortensTheFileLikeStackLabels) {
  const std::string text = RenderSitesText({SessionSite()});
  EXPECT_NE(text.find("server/session.cc:12"), std::string::npos) << text;
  EXPECT_EQ(text.find("/src/server"), std::string::npos) << text;
  EXPECT_EQ(ShortFile("/src/server/session.cc"), "server/session.cc");
  EXPECT_EQ(ShortFile("/session.cc"), "/session.cc");
  EXPECT_EQ(ShortFile("session.cc"), "session.cc");
}

}  // namespace
}  // namespace atr
