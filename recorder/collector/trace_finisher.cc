#include "recorder/collector/trace_finisher.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/progress_line.h"
#include "recorder/collector/frame_sizes.h"
#include "recorder/symbolizer.h"

namespace atr {
namespace {

std::string Utc(int64_t real_ns) {
  time_t secs = static_cast<time_t>(real_ns / 1'000'000'000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(real_ns / 1000 % 1'000'000));
  return std::string(buf) + frac;
}

absl::Status WriteMeta(TraceWriter& w, const Collector& c, const TraceStart& s) {
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  absl::Status st = WriteStartMeta(w, s);
  st.Update(w.SetMeta("cwd", cwd));
  st.Update(w.SetMeta("host", host));
  st.Update(w.SetMeta("kernel", absl::StrCat(u.sysname, " ", u.release, " ", u.machine)));
  st.Update(w.SetMetaInt("page_size", sysconf(_SC_PAGESIZE)));
  if (s.end_real_ns != 0) st.Update(w.SetMeta("end_time_utc", Utc(s.end_real_ns)));
  if (s.start_mono_ns != 0 && s.end_mono_ns != 0) {
    st.Update(w.SetMetaInt("duration_ns", s.end_mono_ns - s.start_mono_ns));
  }
  st.Update(w.SetMeta("clock", "rdtsc, converted to CLOCK_MONOTONIC"));
  st.Update(w.SetMetaInt("spool_bytes_freed", c.stats().spool_bytes_freed));
  st.Update(w.SetMetaInt("lost_events", c.stats().lost_events));
  st.Update(w.SetMetaInt("corrupt_chunks", c.stats().corrupt_chunks));
  st.Update(w.SetMetaInt("unknown_stacks", c.stats().unknown_stacks));
  st.Update(w.SetMetaInt("distinct_stacks", c.stats().distinct_stacks));
  // The recording is complete when nothing can be missing: every process
  // image ended through exit or exec (a crash or SIGKILL may lose the
  // unflushed tail), no chunk was damaged and nothing was dropped.
  const CollectorStats& cs = c.stats();
  bool complete = s.complete && cs.unterminated_processes == 0 && cs.corrupt_chunks == 0 &&
                  cs.lost_events == 0 && cs.unknown_stacks == 0;
  st.Update(w.SetMetaInt("recording_complete", complete ? 1 : 0));
  return st;
}

absl::Status Symbolize(TraceWriter& w, const Collector& c, bool progress) {
  int64_t total = 0;
  for (const auto& [module, frames] : c.frames_by_module()) total += frames.size();
  ProgressLine line(progress, "symbolizing frames");
  Symbolizer symbolizer;
  int64_t done = 0;
  std::vector<uint64_t> pcs;
  std::vector<InlineFrameRow> inlined;
  for (const auto& [module, frames] : c.frames_by_module()) {
    pcs.clear();
    for (const FrameToSymbolize& f : frames) pcs.push_back(f.rel_pc);
    auto results = symbolizer.SymbolizeAll(c.module_path(module), pcs,
                                           [&](size_t d, size_t) { line.Update(done + d, total); });
    done += frames.size();
    for (size_t i = 0; i < frames.size(); ++i) {
      if (!results[i].ok() || results[i]->empty()) continue;
      const std::vector<SymbolizedLocation>& locs = *results[i];
      auto opt = [](const std::string& s) -> std::optional<std::string> {
        if (s.empty()) return std::nullopt;
        return s;
      };
      auto opt_int = [](uint32_t v) -> std::optional<int32_t> {
        if (v == 0) return std::nullopt;
        return static_cast<int32_t>(v);
      };
      FrameRow row{.id = frames[i].id, .module_id = module, .rel_pc = frames[i].rel_pc,
                   .function = opt(locs[0].function), .file = opt(locs[0].file),
                   .line = opt_int(locs[0].line), .column = opt_int(locs[0].column)};
      if (auto s = w.PutFrame(row); !s.ok()) return s;
      if (locs.size() > 1) {
        inlined.clear();
        for (size_t d = 1; d < locs.size(); ++d) {
          inlined.push_back({.depth = static_cast<int32_t>(d), .function = opt(locs[d].function),
                             .file = opt(locs[d].file), .line = opt_int(locs[d].line),
                             .column = opt_int(locs[d].column)});
        }
        if (auto s = w.PutInlineFrames(frames[i].id, inlined); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteStartMeta(TraceWriter& w, const TraceStart& s) {
  absl::Status st = w.SetMeta("atr_version", ATR_VERSION);
  if (!s.argv.empty()) st.Update(w.SetMetaList("argv", s.argv));
  if (s.start_real_ns != 0) st.Update(w.SetMeta("start_time_utc", Utc(s.start_real_ns)));
  if (!s.unwinder.empty()) st.Update(w.SetMeta("unwinder", s.unwinder));
  return st;
}

absl::Status FinishTrace(TraceWriter& writer, Collector& collector, const TraceStart& start,
                         const FinishOptions& options) {
  if (auto s = collector.WriteMetadata(); !s.ok()) return s;
  if (auto s = WriteMeta(writer, collector, start); !s.ok()) return s;
  if (options.symbolize) {
    if (auto s = Symbolize(writer, collector, options.progress); !s.ok()) return s;
  }
  if (auto s = ComputeFrameSizes(writer, collector); !s.ok()) return s;  // frames.frame_size...
  ProgressLine line(options.progress, "pairing allocations and building indexes");
  line.Update(0, 1);
  absl::StatusOr<AllocationStats> stats = writer.Finish();
  return stats.status();
}

}  // namespace atr
