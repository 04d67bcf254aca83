#include "replayer/compare.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "allocator/config.h"
#include "base/status_macros.h"
#include "replayer/builtin_replay.h"
#include "replayer/real_replay.h"
#include "replayer/replay_store.h"

namespace atr::replay {

std::vector<std::string> DefaultCompareAllocators() {
  return {"builtin", "builtin-fullest", "builtin-tcmalloc-classes", "builtin-no-cache",
          "system", "jemalloc", "tcmalloc", "mimalloc"};
}

std::optional<std::vector<std::string>> BuiltinVariant(const std::string& name) {
  if (name == "builtin") return std::vector<std::string>{};
  if (name == "builtin-fullest") return std::vector<std::string>{"central.span_policy=fullest"};
  if (name == "builtin-tcmalloc-classes") return std::vector<std::string>{"size_classes=tcmalloc"};
  if (name == "builtin-no-cache") {
    return std::vector<std::string>{"thread_cache.capacity_bytes=0"};
  }
  if (name.starts_with("builtin:")) {
    std::vector<std::string> kv = absl::StrSplit(name.substr(8), ':', absl::SkipEmpty());
    return kv;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<CompareRow>> RunCompare(TraceReader* reader, const CompareOptions& o) {
  std::vector<CompareRow> rows;
  for (const std::string& name : o.allocators) {
    CompareRow row;
    row.allocator = name;
    absl::StatusOr<ReplayRun> run;
    if (std::optional<std::vector<std::string>> kv = BuiltinVariant(name)) {
      absl::StatusOr<alloc::Config> cfg = alloc::ParseConfig(*kv);
      if (!cfg.ok()) {
        row.note = std::string(cfg.status().message());
        rows.push_back(std::move(row));
        continue;
      }
      BuiltinReplayOptions bo;
      bo.config = *cfg;
      bo.pid = o.pid;
      bo.span_snapshot = false;  // compare wants the numbers; `atr replay` keeps spans
      if (o.progress) bo.progress = [&](int64_t seq) { o.progress(name, seq); };
      run = RunBuiltinReplay(reader, bo);
    } else {
      RealReplayOptions ro;
      ro.allocator = name;
      ro.pid = o.pid;
      ro.real_threads = o.real_threads;
      if (o.progress) ro.progress = [&](int64_t seq) { o.progress(name, seq); };
      run = RunRealReplay(reader, ro);
    }
    if (!run.ok()) {
      row.note = std::string(run.status().message());
      rows.push_back(std::move(row));
      continue;
    }
    if (run->summary.allocator == "builtin" && name != "builtin") run->summary.allocator = name;
    row.ran = true;
    row.summary = run->summary;
    if (o.store) {
      ATR_ASSIGN_OR_RETURN(row.replay_id, StoreReplay(reader->path(), *run));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace atr::replay
