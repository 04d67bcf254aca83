// SpoolDir: the directory a recording's processes write their spool into
// (format in recorder/spool_format.h).
//
// Create() makes the directory (mode 0700: traces hold addresses and paths)
// and its control page before the target starts, so every process of the
// tree shares one sequence counter. Open() is for `atr import`.
//
//   ATR_ASSIGN_OR_RETURN(SpoolDir d, SpoolDir::Create("run.db.spool"));
//   setenv("ATR_SPOOL_DIR", d.path().c_str(), 1);
#ifndef ATR_RECORDER_COLLECTOR_SPOOL_DIR_H_
#define ATR_RECORDER_COLLECTOR_SPOOL_DIR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace atr {

class SpoolDir {
 public:
  // Fails if `path` exists: a leftover spool is a trace to import, not to
  // overwrite.
  static absl::StatusOr<SpoolDir> Create(const std::string& path);
  static absl::StatusOr<SpoolDir> Open(const std::string& path);

  const std::string& path() const { return path_; }
  // Spool files present now, sorted by name.
  std::vector<std::string> SpoolFiles() const;
  // Lost-event count the processes published in the control page.
  uint64_t LostEvents() const;
  // Deletes the directory and everything in it.
  void Remove();

 private:
  explicit SpoolDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_SPOOL_DIR_H_
