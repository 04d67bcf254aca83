// A small hand-written trace for the flame graph and HTML report tests,
// with every metric known by construction:
//
//   seq  op      size  stack                                          freed at
//   1    malloc  100   main;handle_request;load_config                6
//   2    malloc   50   main;handle_request;parse_request;tokenize     3
//   4    malloc   30   main;handle_request;parse_request;tokenize     never
//   5    malloc    7   main;handle_request                            never
//   7    malloc    5   main;ns::cmp<a&b, "q", 'c'>::operator<         never
//   8    malloc   64   main;handle_request;strdup (libc)              9
//
// tokenize is inlined into parse_request (one physical frame); the peak of
// live bytes is 150 at seq 2 (blocks of seq 1 and 2).
//
// StoreFlameTestReplay adds a built-in replay with a span snapshot at seq 7:
// span 0x10000 holds the blocks of seq 4 and 5 with 96 free bytes (48
// each), span 0x20000 the block of seq 7 with 10 free bytes; and one double
// free (seq 3). StoreFlameTestSites adds `atr sites` results: load_config's
// line is "new Config (96 B)", handle_request's "malloc Header (7 B)" (the
// site of its own block and, strdup being runtime, of strdup's).
//
// Shared by flamegraph_test and html_report_test.
#ifndef ATR_ANALYSIS_RENDER_TEST_TRACE_H_
#define ATR_ANALYSIS_RENDER_TEST_TRACE_H_

#include <string>

#include "allocator/config.h"
#include "analysis/sites/site_store.h"
#include "db/trace_writer.h"
#include "gtest/gtest.h"
#include "replayer/replay_store.h"

namespace atr::testing {

inline constexpr char kOddName[] = "ns::cmp<a&b, \"q\", 'c'>::operator<";

inline void WriteFlameTestTrace(const std::string& path) {
  absl::StatusOr<std::unique_ptr<TraceWriter>> w = TraceWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  TraceWriter& t = **w;
  ASSERT_TRUE(t.SetMetaList("argv", {"/usr/bin/app", "--serve"}).ok());
  ASSERT_TRUE(t.PutThread({.pid = 42, .tid = 42, .name = "app"}).ok());
  ASSERT_TRUE(t.PutModule({.id = 1, .pid = 42, .path = "/usr/bin/app", .lo = 0x1000, .hi = 0x9000}).ok());
  ASSERT_TRUE(t.PutModule({.id = 2, .pid = 42, .path = "/lib/x86_64-linux-gnu/libc.so.6",
                           .lo = 0x7f0000000000, .hi = 0x7f0000100000}).ok());
  auto frame = [&](int64_t id, int64_t module, const char* fn, const char* file, int line) {
    FrameRow f{.id = id, .module_id = module, .rel_pc = static_cast<uint64_t>(0x1000 + id),
               .function = fn};
    if (file != nullptr) {
      f.file = file;
      f.line = line;
    }
    ASSERT_TRUE(t.PutFrame(f).ok());
  };
  frame(1, 1, "main", "/src/app/main.cc", 10);
  frame(2, 1, "handle_request(int)", "/src/app/server.cc", 20);
  frame(3, 1, "load_config(int)", "/src/app/config.cc", 30);
  frame(4, 1, "tokenize(char const*)", "/src/app/parse.h", 40);  // inlined into parse_request
  frame(5, 1, "ns::cmp<a&b, \"q\", 'c'>::operator<(int) const [clone .cold]", "/src/app/x.h", 50);
  frame(6, 2, "strdup", nullptr, 0);
  ASSERT_TRUE(t.PutInlineFrames(4, {{.depth = 1, .function = "parse_request(int)",
                                     .file = "/src/app/parse.cc", .line = 44}}).ok());
  for (StackNodeRow n : {StackNodeRow{1, 0, 1}, StackNodeRow{2, 1, 2}, StackNodeRow{3, 2, 3},
                         StackNodeRow{4, 2, 4}, StackNodeRow{5, 1, 5}, StackNodeRow{6, 2, 6}}) {
    ASSERT_TRUE(t.AddStackNode(n).ok());
  }
  auto ev = [&](int64_t seq, Op op, uint64_t addr, uint64_t size, StackId stack) {
    ASSERT_TRUE(t.AddEvent({.seq = seq, .ts_ns = seq * 1000, .pid = 42, .tid = 42, .op = op,
                            .addr = addr, .size = size, .stack = stack}).ok());
  };
  ev(1, Op::kMalloc, 0xA000, 100, 3);
  ev(2, Op::kMalloc, 0xB000, 50, 4);
  ev(3, Op::kFree, 0xB000, 0, 2);
  ev(4, Op::kMalloc, 0xC000, 30, 4);
  ev(5, Op::kMalloc, 0xD000, 7, 2);
  ev(6, Op::kFree, 0xA000, 0, 2);
  ev(7, Op::kMalloc, 0xE000, 5, 5);
  ev(8, Op::kMalloc, 0xF000, 64, 6);
  ev(9, Op::kFree, 0xF000, 0, 2);
  ASSERT_TRUE(t.Finish().ok());
}

inline void StoreFlameTestReplay(const std::string& path) {
  replay::ReplayRun run;
  run.summary.allocator = "builtin";
  run.summary.config = alloc::SerializeConfig(alloc::Config{});
  run.summary.threads = "model";
  run.summary.peak_resident_bytes = 8192;
  run.summary.peak_resident_seq = 7;
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
  p.addr = 0xB000;
  p.offending = {.seq = 3, .tid = 42, .op = Op::kFree, .stack = 2};
  p.detail = "freed <twice> & more";
  run.problems.Add(p);
  absl::StatusOr<int64_t> id = replay::StoreReplay(path, run);
  ASSERT_TRUE(id.ok()) << id.status();
}

inline void StoreFlameTestSites(const std::string& path) {
  SourceSite config;
  config.file = "/src/app/config.cc";
  config.line = 30;
  config.column = 10;
  config.end_line = 30;
  config.function = "load_config";
  config.function_line = 28;
  config.function_end_line = 33;
  config.kind = SiteKind::kNew;
  config.type = "Config";
  config.type_size = 96;
  config.bytes = 96;
  SourceSite header = config;
  header.file = "/src/app/server.cc";
  header.line = header.end_line = 20;
  header.function = "handle_request";
  header.function_line = 18;
  header.function_end_line = 25;
  header.kind = SiteKind::kMalloc;
  header.type = "Header";
  header.type_size = header.bytes = 7;
  header.detail = "malloc";
  absl::StatusOr<StoreSummary> s = StoreSites(path, {config, header}, {});
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->matched_lines, 2);
}

}  // namespace atr::testing

#endif  // ATR_ANALYSIS_RENDER_TEST_TRACE_H_
