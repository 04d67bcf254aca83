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

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace atr {

// Frees the disk blocks of bytes [from, to) of a spool file whose rows are
// committed: whole 4 KiB blocks only, with FALLOC_FL_PUNCH_HOLE |
// FALLOC_FL_KEEP_SIZE, so the file keeps its size and every offset, and the
// writer's O_APPEND writes go on at its end. Returns the end of the freed
// range (`from` if no whole block fits). UNIMPLEMENTED when the filesystem
// cannot punch holes (the caller keeps the file whole and says so once).
absl::StatusOr<uint64_t> PunchSpoolPrefix(const std::string& path, uint64_t from, uint64_t to);

// Whether the file's first block was punched out (a collector committed it
// to a trace; only that trace can be continued from this file).
bool SpoolFileStartIsFreed(const std::string& path);

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
