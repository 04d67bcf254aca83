#include "recorder/collector/import_spool.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "recorder/collector/spool_dir.h"
#include "recorder/collector/trace_finisher.h"

namespace atr {

absl::StatusOr<ImportOutcome> ImportSpool(const ImportOptions& o) {
  absl::StatusOr<SpoolDir> spool = SpoolDir::Open(o.spool_dir);
  if (!spool.ok()) return spool.status();
  if (spool->SpoolFiles().empty()) {
    return absl::NotFoundError(absl::StrCat(o.spool_dir, ": no spool files in it"));
  }
  ImportOutcome out;
  out.output = o.output;
  if (out.output.empty()) {
    std::string dir = o.spool_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    out.output = absl::EndsWith(dir, ".spool") ? dir.substr(0, dir.size() - 6) : dir + ".db";
  }
  auto writer = TraceWriter::Create(out.output, {.overwrite = o.overwrite});
  if (!writer.ok()) return writer.status();

  // The recording's own start is not known here: the earliest process start
  // becomes time zero.
  Collector probe_free_collector(writer->get(), {.start_mono_ns = 0, .clock = TscClock::Calibrate()});
  Collector& c = probe_free_collector;
  if (auto s = c.DiscoverFiles(o.spool_dir); !s.ok()) return s;
  if (auto s = c.Drain(); !s.ok()) return s;
  TraceStart start{.argv = {}, .unwinder = "", .complete = false};
  if (auto s = FinishTrace(**writer, c, start, {.symbolize = true, .progress = o.progress});
      !s.ok()) {
    return s;
  }
  out.stats = c.stats();
  writer->reset();
  if (!o.keep_spool) spool->Remove();
  struct stat st {};
  if (stat(out.output.c_str(), &st) == 0) out.file_bytes = st.st_size;
  return out;
}

}  // namespace atr
