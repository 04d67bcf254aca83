// Collector ingest benchmark: turns a spool directory left on disk into a
// trace, timing the ingest (decode, intern, the allocation pass, SQLite
// inserts) apart from the finishing step (the pass's last rows and results,
// indexes, ANALYZE; no symbolization). ingest_s + finish_s is the time to a
// finished trace once the spool exists; compare CPU time too (/usr/bin/time)
// on a loaded machine, where the two ingest threads may not get two cores.
//
//   ATR_SPOOL_DIR=/tmp/s LD_PRELOAD=build/lib/libatr_preload.so build/bench/atr-bench-alloc-heavy
//   build/bench/record_ingest_bench /tmp/s /tmp/s.db
//
// Prints one line of key=value pairs (parsed by bench/record/run.sh). The
// spool is left in place, so runs can be repeated.
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <cstdio>

#include "db/trace_writer.h"
#include "recorder/collector/collector.h"

namespace {

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "record_ingest_bench: %s\n", std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: record_ingest_bench SPOOL_DIR OUT.db\n");
    return 2;
  }
  auto writer = atr::TraceWriter::Create(argv[2], {.overwrite = true});
  if (!writer.ok()) return Fail(writer.status());
  atr::Collector c(writer->get(), {.start_mono_ns = 0, .clock = atr::TscClock::Calibrate()});
  double t0 = Now();
  if (auto s = c.DiscoverFiles(argv[1]); !s.ok()) return Fail(s);
  if (auto s = c.Drain(); !s.ok()) return Fail(s);
  if (auto s = c.WriteMetadata(); !s.ok()) return Fail(s);
  if (auto s = (*writer)->Flush(); !s.ok()) return Fail(s);
  double t1 = Now();
  auto stats = (*writer)->Finish();
  if (!stats.ok()) return Fail(stats.status());
  double t2 = Now();
  struct stat st {};
  stat(argv[2], &st);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  int64_t events = c.stats().events;
  std::printf("events=%lld ingest_s=%.3f ingest_meps=%.3f finish_s=%.3f bytes_per_event=%.2f "
              "peak_rss_mb=%.1f\n",
              static_cast<long long>(events), t1 - t0, events / (t1 - t0) / 1e6, t2 - t1,
              events ? static_cast<double>(st.st_size) / events : 0.0, ru.ru_maxrss / 1024.0);
  return 0;
}
