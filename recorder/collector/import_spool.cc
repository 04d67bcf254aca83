#include "recorder/collector/import_spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "recorder/collector/spool_dir.h"
#include "recorder/collector/spool_progress.h"
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
  // A trace whose collector died after checkpoints is continued from the
  // offsets it committed (the spool's start may be freed); anything else
  // is built from the whole spool.
  std::optional<ResumeState> resume;
  if (access(out.output.c_str(), F_OK) == 0) {
    absl::StatusOr<std::optional<ResumeState>> state = ReadResumeState(out.output);
    if (state.ok()) resume = std::move(*state);
  }
  if (!resume) {
    for (const std::string& f : spool->SpoolFiles()) {
      if (SpoolFileStartIsFreed(f)) {
        return absl::FailedPreconditionError(absl::StrCat(
            f, ": its start is already in the trace `atr record` was writing (and freed from "
               "the spool); import into that trace, ", out.output, " by default, which must be "
               "unfinished"));
      }
    }
  }
  TraceWriterOptions writer_options;
  writer_options.overwrite = o.overwrite;
  writer_options.commit_on_flush_only = true;
  auto writer = resume ? TraceWriter::OpenUnfinished(out.output, writer_options)
                       : TraceWriter::Create(out.output, writer_options);
  if (!writer.ok()) return writer.status();
  // Without a recording's start, the monotonic clock's own zero is time
  // zero.
  const int64_t start_mono_ns = resume ? resume->start_mono_ns : 0;
  if (!resume) {
    if (auto s = StartSpoolProgress(**writer, start_mono_ns); !s.ok()) return s;
  }
  Collector c(writer->get(), {.start_mono_ns = start_mono_ns,
                              .clock = TscClock::Calibrate(),
                              .checkpoints = true});
  if (resume) {
    if (auto s = c.Resume(*resume, o.spool_dir); !s.ok()) return s;
    out.continued = true;
  }
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
