#include <gtest/gtest.h>

#include "base/json_writer.h"
#include "base/number_format.h"
#include "base/report_table.h"
#include "base/short_file.h"
#include "base/text_table.h"

namespace atr {
namespace {

TEST(JsonWriterTest, NestsAndEscapes) {
  JsonWriter j;
  j.BeginObject();
  j.Key("name").String("a\"b\\c\n\x01");
  j.Key("list").BeginArray().Int(-1).Uint(18446744073709551615ull).Bool(true).Null().EndArray();
  j.Key("x").Double(0.5);
  j.EndObject();
  EXPECT_EQ(j.str(),
            R"({"name":"a\"b\\c\n\u0001","list":[-1,18446744073709551615,true,null],"x":0.5})");
}

TEST(TextTableTest, AlignsColumns) {
  TextTable t({"bytes", "site"}, {Align::kRight, Align::kLeft});
  t.AddRow({"1", "main"});
  t.AddRow({"12345", "f"});
  EXPECT_EQ(t.Render(), "bytes  site\n    1  main\n12345  f\n");
}

TEST(FormatTest, BytesCountsDurations) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(3 * 1024 * 1024), "3.00 MiB");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-1000), "-1,000");
  EXPECT_EQ(FormatDuration(1'500'000'000), "1.500 s");
  EXPECT_EQ(FormatDuration(2'500'000), "2.5 ms");
}

TEST(ReportTableTest, RendersTextJsonAndCsvFromOneTable) {
  ReportTable t({{"site", Column::kText}, {"bytes", Column::kBytes}, {"share", Column::kPercent}});
  t.AddRow({Cell::Text("load_config, \"x\""), Cell::Int(4096), Cell::Real(0.5)});
  t.AddRow({Cell::Text("main"), Cell::Null(), Cell::Real(0.25)});
  EXPECT_EQ(t.RenderText(),
            "site                 bytes  share\n"
            "load_config, \"x\"  4.00 KiB  50.0%\n"
            "main                     -  25.0%\n");
  EXPECT_EQ(t.RenderCsv(), "site,bytes,share\n\"load_config, \"\"x\"\"\",4096,0.5\nmain,,0.25\n");
  EXPECT_EQ(t.RenderJson(),
            "[{\"site\":\"load_config, \\\"x\\\"\",\"bytes\":4096,\"share\":0.5},"
            "{\"site\":\"main\",\"bytes\":null,\"share\":0.25}]\n");
}

TEST(ReportTableTest, BoolColumnsAndRowMembers) {
  ReportTable t({{"allocator", Column::kText}, {"ran", Column::kBool}});
  t.AddRow({Cell::Text("glibc"), Cell::Bool(true)});
  t.AddRow({Cell::Text("mimalloc"), Cell::Bool(false)});
  EXPECT_EQ(t.RenderText(), "allocator  ran\nglibc      yes\nmimalloc    no\n");
  EXPECT_EQ(t.RenderCsv(), "allocator,ran\nglibc,true\nmimalloc,false\n");
  EXPECT_EQ(t.RenderJson(),
            "[{\"allocator\":\"glibc\",\"ran\":true},{\"allocator\":\"mimalloc\",\"ran\":false}]\n");
  JsonWriter j;
  j.BeginObject();
  j.Key("trace").String("a.db");
  t.WriteRowMembers(j, 1);
  j.EndObject();
  EXPECT_EQ(j.str(), R"({"trace":"a.db","allocator":"mimalloc","ran":false})");
}

TEST(ShortFileTest, KeepsTheLastTwoComponents) {
  EXPECT_EQ(ShortFile("/src/server/main.cc"), "server/main.cc");
  EXPECT_EQ(ShortFile("server/main.cc"), "server/main.cc");
  EXPECT_EQ(ShortFile("/main.cc"), "/main.cc");
  EXPECT_EQ(ShortFile("main.cc"), "main.cc");
}

}  // namespace
}  // namespace atr
