#include "recorder/collector/spool_dir.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "recorder/spool_format.h"

namespace atr {

namespace fs = std::filesystem;

absl::StatusOr<uint64_t> PunchSpoolPrefix(const std::string& path, uint64_t from, uint64_t to) {
  constexpr uint64_t kBlock = 4096;
  to &= ~(kBlock - 1);
  if (to <= from) return from;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  int rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                     static_cast<off_t>(to - from));
  int err = errno;
  close(fd);
  if (rc == 0) return to;
  if (err == EOPNOTSUPP || err == ENOSYS) {
    return absl::UnimplementedError(absl::StrCat(
        "spool files are kept whole: the filesystem of ", path,
        " cannot punch holes (fallocate: ", std::strerror(err),
        "), so the spool grows with the recording until the trace is finished"));
  }
  return absl::InternalError(absl::StrCat("freeing the start of ", path, ": ", std::strerror(err)));
}

bool SpoolFileStartIsFreed(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // SEEK_DATA skips a leading hole; a file never punched has data at 0.
  off_t data = lseek(fd, 0, SEEK_DATA);
  close(fd);
  return data > 0;
}

absl::StatusOr<SpoolDir> SpoolDir::Create(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(
          path, ": a spool from an earlier recording is in the way (finish it with "
                "`atr import ", path, "` or remove it)"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::string control = path + "/" + spool::kControlFileName;
  int fd = open(control.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("cannot create ", control, ": ", std::strerror(err)));
  }
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (page == MAP_FAILED) {
    return absl::InternalError(absl::StrCat("mmap ", control, ": ", std::strerror(errno)));
  }
  auto* cp = static_cast<spool::ControlPage*>(page);
  cp->version = spool::kSpoolVersion;
  cp->next_seq.store(1, std::memory_order_relaxed);
  // The magic goes last: a process that sees it sees an initialized page.
  std::atomic_thread_fence(std::memory_order_release);
  cp->magic = spool::ControlPage::kMagic;
  munmap(page, 4096);
  return SpoolDir(path);
}

absl::StatusOr<SpoolDir> SpoolDir::Open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path, ": not a spool directory"));
  }
  return SpoolDir(path);
}

std::vector<std::string> SpoolDir::SpoolFiles() const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_, ec)) {
    std::string name = e.path().filename().string();
    if (absl::EndsWith(name, spool::kSpoolSuffix)) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

uint64_t SpoolDir::LostEvents() const {
  std::string control = path_ + "/" + spool::kControlFileName;
  int fd = open(control.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  spool::ControlPage cp;
  uint64_t lost = 0;
  if (pread(fd, &cp, sizeof cp, 0) == static_cast<ssize_t>(sizeof cp) &&
      cp.magic == spool::ControlPage::kMagic) {
    lost = cp.lost_events.load(std::memory_order_relaxed);
  }
  close(fd);
  return lost;
}

void SpoolDir::Remove() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace atr
