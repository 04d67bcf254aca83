// Runs the programs in recorder/testdata/ under libatr_preload.so and checks
// what reached the spool, record by record.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "db/ops.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "recorder/spool_reader.h"

extern char** environ;

namespace atr {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kMarkBegin = 777777, kMarkEnd = 888888;

std::string BuildDir() {
  if (const char* d = getenv("ATR_BUILD_DIR")) return d;
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().string();
}
std::string Program(const std::string& name) { return BuildDir() + "/programs/" + name; }
std::string PreloadPath() { return BuildDir() + "/lib/libatr_preload.so"; }

struct RunResult {
  int status = -1;  // as from waitpid
  std::string out;  // stdout
  int pid = 0;
};

// Runs argv with the preload library; extra_env entries are "K=V". With an
// empty spool_dir, ATR_SPOOL_DIR is left unset.
RunResult RunTraced(const std::vector<std::string>& argv, const std::string& spool_dir,
              const std::vector<std::string>& extra_env = {}, int timeout_s = 30) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "LD_PRELOAD=") || absl::StartsWith(*e, "ATR_")) continue;
    env.push_back(*e);
  }
  env.push_back("LD_PRELOAD=" + PreloadPath());
  if (!spool_dir.empty()) env.push_back("ATR_SPOOL_DIR=" + spool_dir);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  RunResult r;
  pid_t pid;
  int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  EXPECT_EQ(rc, 0) << argv[0];
  if (rc != 0) {
    close(fds[0]);
    return r;
  }
  r.pid = pid;
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
    pid_t w = waitpid(pid, &r.status, WNOHANG);
    if (w == pid) break;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > timeout_s) {
      ADD_FAILURE() << argv[0] << " timed out (deadlock?)";
      kill(pid, SIGKILL);
      waitpid(pid, &r.status, 0);
      break;
    }
    usleep(2000);
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return r;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/atr_preload_test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Event {
  spool::EventRecord e;
  uint32_t tid;
  Op op() const { return static_cast<Op>(e.h.op); }
};

struct Module {
  spool::ModuleRecord rec;
  std::string path;
  uint64_t file_offset;
};

// Everything one spool file holds, plus the checks that hold for every file.
struct SpoolImage {
  std::string name;
  uint32_t pid = 0;
  bool has_process = false;
  spool::ProcessRecord process = {};
  ProcessStrings strings;
  std::vector<Event> events;  // file order
  absl::flat_hash_map<uint64_t, std::vector<uint64_t>> stacks;
  absl::flat_hash_map<uint64_t, uint64_t> stack_offsets;  // hash -> first file offset
  std::vector<Module> modules;
  std::vector<std::pair<uint32_t, spool::ThreadRecord>> threads;
  uint64_t lost = 0;
  std::vector<std::string> problems;

  std::vector<Event> Select(Op op) const {
    std::vector<Event> out;
    for (const Event& e : events) {
      if (e.op() == op) out.push_back(e);
    }
    return out;
  }
  std::vector<Event> WithSize(Op op, uint64_t size) const {
    std::vector<Event> out;
    for (const Event& e : events) {
      if (e.op() == op && e.e.size == size) out.push_back(e);
    }
    return out;
  }
  const Module* FindModule(const std::string& suffix) const {
    for (const Module& m : modules) {
      if (absl::EndsWith(m.path, suffix) && (m.rec.flags & spool::ModuleRecord::kLoaded)) return &m;
    }
    return nullptr;
  }
};

SpoolImage ReadImage(const std::string& path) {
  SpoolImage img;
  img.name = fs::path(path).filename().string();
  absl::StatusOr<SpoolFileReader> reader = SpoolFileReader::Open(path);
  if (!reader.ok()) {
    img.problems.push_back(std::string(reader.status().message()));
    return img;
  }
  bool first = true;
  absl::flat_hash_map<uint32_t, absl::flat_hash_set<uint64_t>> defined_by_thread;
  for (;;) {
    absl::StatusOr<std::optional<SpoolChunk>> chunk = reader->NextChunk();
    if (!chunk.ok()) {
      img.problems.push_back(std::string(chunk.status().message()));
      break;
    }
    if (!chunk->has_value()) break;
    const SpoolChunk& c = **chunk;
    img.pid = c.header.pid;
    uint32_t tid = c.header.tid;
    for (const SpoolRecord& r : c.records()) {
      if (first && r.type() != spool::RecordType::kProcess) {
        img.problems.push_back("first record is not a ProcessRecord");
      }
      first = false;
      switch (r.type()) {
        case spool::RecordType::kProcess:
          if (img.has_process) img.problems.push_back("second ProcessRecord");
          img.has_process = true;
          img.process = r.process();
          img.strings = r.process_strings();
          break;
        case spool::RecordType::kModule:
          img.modules.push_back({r.module(), std::string(r.module_path()), r.file_offset()});
          break;
        case spool::RecordType::kStack: {
          auto pcs = r.stack_pcs();
          img.stacks[r.stack().hash] = std::vector<uint64_t>(pcs.begin(), pcs.end());
          img.stack_offsets.try_emplace(r.stack().hash, r.file_offset());
          defined_by_thread[tid].insert(r.stack().hash);
          break;
        }
        case spool::RecordType::kEvent: {
          const spool::EventRecord& e = r.event();
          if (e.stack != 0 && !defined_by_thread[tid].contains(e.stack)) {
            img.problems.push_back("event " + std::to_string(e.seq) +
                                   " names a stack its thread did not define before");
          }
          img.events.push_back({e, tid});
          break;
        }
        case spool::RecordType::kThread:
          img.threads.push_back({tid, r.thread()});
          break;
        case spool::RecordType::kLost:
          img.lost += r.lost().count;
          break;
      }
    }
  }
  if (absl::Status tail = reader->IncompleteTail(); !tail.ok()) {
    img.problems.push_back(std::string(tail.message()));
  }
  return img;
}

struct Spool {
  std::map<std::string, SpoolImage> images;  // by file name
  uint64_t lost_events = 0;
  uint64_t next_seq = 0;
  uint64_t processes_started = 0;

  const SpoolImage& Image(uint32_t pid, uint32_t n) const {
    static const SpoolImage kEmpty;
    auto it = images.find(std::to_string(pid) + "." + std::to_string(n) + ".spool");
    EXPECT_NE(it, images.end()) << "no spool file for pid " << pid << " image " << n;
    return it == images.end() ? kEmpty : it->second;
  }
  const SpoolImage& Only() const {
    EXPECT_EQ(images.size(), 1u);
    return images.begin()->second;
  }
};

Spool ReadSpool(const std::string& dir) {
  Spool s;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".spool")) s.images[name] = ReadImage(entry.path().string());
  }
  int fd = open((dir + "/control").c_str(), O_RDONLY);
  if (fd >= 0) {
    spool::ControlPage cp;
    if (pread(fd, &cp, sizeof cp, 0) == sizeof cp) {
      EXPECT_EQ(cp.magic, spool::ControlPage::kMagic);
      s.lost_events = cp.lost_events.load();
      s.next_seq = cp.next_seq.load();
      s.processes_started = cp.processes_started.load();
    }
    close(fd);
  }
  for (const auto& [name, img] : s.images) {
    EXPECT_THAT(img.problems, ElementsAre()) << name;
    EXPECT_TRUE(img.has_process) << name;
  }
  return s;
}

// Events of the main thread between the begin and end markers.
std::vector<Event> Window(const SpoolImage& img) {
  std::vector<Event> out;
  bool in = false;
  uint32_t tid = 0;
  for (const Event& e : img.events) {
    if (e.op() == Op::kMalloc && e.e.size == kMarkBegin) {
      in = true;
      tid = e.tid;
      continue;
    }
    if (!in || e.tid != tid) continue;
    if (e.op() == Op::kMalloc && e.e.size == kMarkEnd) break;
    out.push_back(e);
  }
  return out;
}

std::map<Op, int> CountOps(const std::vector<Event>& events) {
  std::map<Op, int> n;
  for (const Event& e : events) ++n[e.op()];
  return n;
}

bool InModule(const Module* m, uint64_t pc) { return m && pc >= m->rec.lo && pc < m->rec.hi; }

void ExpectExitedWith(const RunResult& r, int code) {
  ASSERT_TRUE(WIFEXITED(r.status)) << "status " << r.status;
  EXPECT_EQ(WEXITSTATUS(r.status), code);
}

// --------------------------------------------------------------- the tests

TEST(Preload, EveryAllocationFormIsCountedExactly) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_forms")}, dir.path());
  ExpectExitedWith(r, 0);
  Spool spool = ReadSpool(dir.path());
  const SpoolImage& img = spool.Only();
  std::vector<Event> w = Window(img);
  std::map<Op, int> n = CountOps(w);

  // The throw allocates its exception object with malloc and frees it.
  EXPECT_EQ(n[Op::kMalloc], 3 + 1 + 1 + 1);
  EXPECT_EQ(n[Op::kFree], 1 + 3 + 2 + 1 + 1 + 1 + 2 + 4 + 1);
  EXPECT_EQ(n[Op::kCalloc], 2);
  EXPECT_EQ(n[Op::kRealloc], 2);
  EXPECT_EQ(n[Op::kReallocArray], 3);
  EXPECT_EQ(n[Op::kReallocRelease], 3);
  EXPECT_EQ(n[Op::kPosixMemalign], 3);
  EXPECT_EQ(n[Op::kAlignedAlloc], 1);
  EXPECT_EQ(n[Op::kMemalign], 1);
  EXPECT_EQ(n[Op::kValloc], 1);
  EXPECT_EQ(n[Op::kPvalloc], 1);
  EXPECT_EQ(n[Op::kNew], 5);
  EXPECT_EQ(n[Op::kNewArray], 4);
  EXPECT_EQ(n[Op::kNewNothrow], 3);
  EXPECT_EQ(n[Op::kNewArrayNothrow], 2);
  EXPECT_EQ(n[Op::kNewAligned], 4);
  EXPECT_EQ(n[Op::kNewArrayAligned], 4);
  EXPECT_EQ(n[Op::kNewAlignedNothrow], 2);
  EXPECT_EQ(n[Op::kNewArrayAlignedNothrow], 2);
  for (Op op : {Op::kDelete, Op::kDeleteArray, Op::kDeleteSized, Op::kDeleteArraySized,
                Op::kDeleteAligned, Op::kDeleteArrayAligned, Op::kDeleteSizedAligned,
                Op::kDeleteArraySizedAligned, Op::kDeleteNothrow, Op::kDeleteArrayNothrow,
                Op::kDeleteAlignedNothrow, Op::kDeleteArrayAlignedNothrow}) {
    EXPECT_EQ(n[op], 2) << OpName(op);
  }
  int total = 0;
  for (auto& [op, count] : n) total += count;
  EXPECT_EQ(total, 6 + 16 + 2 + 2 + 3 + 3 + 3 + 4 + 5 + 4 + 3 + 2 + 4 + 4 + 2 + 2 + 24)
      << "unexpected ops in the window";

  // Sizes, alignments, failures, and the realloc pairing.
  for (const Event& e : w) {
    const spool::EventRecord& x = e.e;
    switch (e.op()) {
      case Op::kCalloc:
        EXPECT_EQ(x.size, 63u);
        EXPECT_EQ(x.arg, 7u);
        break;
      case Op::kPosixMemalign:
        if (x.arg == 64) {
          EXPECT_EQ(x.size, 200u);
          EXPECT_EQ(x.addr % 64, 0u);
          EXPECT_NE(x.addr, 0u);
        } else {
          EXPECT_EQ(x.arg, 3u);
          EXPECT_EQ(x.addr, 0u);
        }
        break;
      case Op::kAlignedAlloc:
        EXPECT_EQ(x.size, 256u);
        EXPECT_EQ(x.arg, 128u);
        EXPECT_EQ(x.addr % 128, 0u);
        break;
      case Op::kMemalign:
        EXPECT_EQ(x.size, 300u);
        EXPECT_EQ(x.addr % 256, 0u);
        break;
      case Op::kValloc:
      case Op::kPvalloc:
        EXPECT_EQ(x.size, 1000u);
        EXPECT_EQ(x.addr % 4096, 0u);
        break;
      case Op::kNewAligned:
      case Op::kNewArrayAligned:
      case Op::kNewAlignedNothrow:
      case Op::kNewArrayAlignedNothrow:
        EXPECT_NE(x.addr, 0u);
        EXPECT_EQ(x.addr % x.arg, 0u) << OpName(e.op()) << " align " << x.arg;
        break;
      case Op::kDeleteSized:
        EXPECT_EQ(x.size, 152u);
        break;
      case Op::kDeleteArraySized:
        EXPECT_EQ(x.size, 168u);
        break;
      case Op::kDeleteSizedAligned:
        EXPECT_EQ(x.size, 184u);
        EXPECT_EQ(x.arg, 64u);
        break;
      case Op::kDeleteArraySizedAligned:
        EXPECT_EQ(x.size, 200u);
        EXPECT_EQ(x.arg, 64u);
        break;
      case Op::kDeleteArrayAlignedNothrow:
        EXPECT_EQ(x.arg, 512u);
        break;
      default:
        break;
    }
  }
  std::vector<uint64_t> malloc_sizes;
  for (const Event& e : w) {
    if (e.op() == Op::kMalloc && e.e.size != 100 && e.e.size != 16) malloc_sizes.push_back(e.e.size);
  }
  ASSERT_EQ(malloc_sizes.size(), 2u);
  EXPECT_EQ(std::count_if(w.begin(), w.end(),
                          [](const Event& e) {
                            return e.op() == Op::kMalloc && e.e.size == SIZE_MAX - 4096 &&
                                   e.e.addr == 0;
                          }),
            1);
  EXPECT_EQ(std::count_if(w.begin(), w.end(),
                          [](const Event& e) {
                            return (e.op() == Op::kNew || e.op() == Op::kNewNothrow) &&
                                   e.e.addr == 0 && e.e.size == SIZE_MAX - 4096;
                          }),
            2);
  // realloc: release numbered before its acquisition; the failed
  // reallocarray keeps its old block (addr 0, size > 0).
  std::vector<Event> rel = img.Select(Op::kReallocRelease);
  for (const Event& e : w) {
    if (e.op() != Op::kRealloc && e.op() != Op::kReallocArray) continue;
    if (e.e.arg == 0) continue;  // realloc(NULL, n): acquisition only
    auto it = std::find_if(rel.begin(), rel.end(),
                           [&](const Event& r) { return r.e.addr == e.e.arg; });
    ASSERT_NE(it, rel.end());
    EXPECT_LT(it->e.seq, e.e.seq);
  }
  EXPECT_EQ(std::count_if(w.begin(), w.end(),
                          [](const Event& e) {
                            return e.op() == Op::kReallocArray && e.e.addr == 0 &&
                                   e.e.size == UINT64_MAX;
                          }),
            1);

  // Stacks: every event has one; the top frame is the program's, not ours.
  const Module* exe = img.FindModule("rec_forms");
  const Module* self = img.FindModule("libatr_preload.so");
  ASSERT_NE(exe, nullptr);
  ASSERT_NE(self, nullptr);
  int top_in_exe = 0;
  for (const Event& e : w) {
    ASSERT_NE(e.e.stack, 0u) << OpName(e.op());
    const std::vector<uint64_t>& pcs = img.stacks.at(e.e.stack);
    ASSERT_FALSE(pcs.empty());
    EXPECT_FALSE(InModule(self, pcs[0])) << OpName(e.op());
    if (InModule(exe, pcs[0])) ++top_in_exe;
    EXPECT_GT(e.e.sp_depth, 0u);
    EXPECT_LT(e.e.sp_depth, 1u << 20);
  }
  EXPECT_GE(top_in_exe, static_cast<int>(w.size()) - 4);  // the exception's own calls

  // Process framing.
  EXPECT_THAT(img.strings.exe, HasSubstr("rec_forms"));
  ASSERT_FALSE(img.strings.argv.empty());
  EXPECT_THAT(img.strings.argv[0], HasSubstr("rec_forms"));
  EXPECT_EQ(img.process.image, 0u);
  EXPECT_EQ(img.process.ppid, static_cast<uint32_t>(getpid()));
  EXPECT_NE(img.process.tsc_hz, 0u);
  ASSERT_FALSE(img.events.empty());
  EXPECT_EQ(img.events.front().op(), Op::kProcessStart);
  EXPECT_EQ(img.Select(Op::kProcessExit).size(), 1u);
  uint64_t first_stack = UINT64_MAX;
  for (auto& [h, off] : img.stack_offsets) first_stack = std::min(first_stack, off);
  for (const Module& m : img.modules) {
    if (m.path.find("rec_forms") != std::string::npos) {
      EXPECT_LT(m.file_offset, first_stack);
    }
  }
  EXPECT_EQ(spool.lost_events, 0u);
  EXPECT_EQ(img.lost, 0u);
}

TEST(Preload, CrossThreadFreesNeverShowAnAddressLiveTwice) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_threads"), "20000"}, dir.path());
  ExpectExitedWith(r, 0);
  Spool spool = ReadSpool(dir.path());
  const SpoolImage& img = spool.Only();
  std::vector<Event> ev = img.events;
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) { return a.e.seq < b.e.seq; });
  for (size_t i = 1; i < ev.size(); ++i) ASSERT_NE(ev[i].e.seq, ev[i - 1].e.seq);
  absl::flat_hash_map<uint64_t, uint32_t> live;  // addr -> allocating tid
  int cross_thread = 0, producer_allocs = 0;
  for (const Event& e : ev) {
    Op op = e.op();
    if (!IsHeapOp(op) || e.e.addr == 0) continue;
    if (IsAcquisition(op)) {
      auto [it, inserted] = live.try_emplace(e.e.addr, e.tid);
      ASSERT_TRUE(inserted) << "address 0x" << std::hex << e.e.addr << " live twice at seq "
                            << std::dec << e.e.seq;
      if (op == Op::kMalloc && e.e.size >= 16 && e.e.size < 272) ++producer_allocs;
    } else if (IsRelease(op)) {
      auto it = live.find(e.e.addr);
      if (it == live.end()) continue;  // allocated before recording started
      if (it->second != e.tid) ++cross_thread;
      live.erase(it);
    }
  }
  EXPECT_GE(producer_allocs, 40000);
  EXPECT_GE(cross_thread, 39000);
  EXPECT_EQ(img.Select(Op::kThreadStart).size(), 4u);
  EXPECT_EQ(img.Select(Op::kThreadExit).size(), 4u);
  std::set<uint32_t> tids;
  for (const Event& e : img.events) tids.insert(e.tid);
  EXPECT_EQ(tids.size(), 5u);
  for (const auto& [tid, tr] : img.threads) {
    if (tid != img.pid) {
      EXPECT_NE(tr.creator_tid, 0u);
    }
    EXPECT_NE(tr.stack_hi, 0u);
  }
  EXPECT_EQ(spool.lost_events, 0u);
}

TEST(Preload, ForkedChildrenAreTheirOwnProcesses) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_fork")}, dir.path());
  ExpectExitedWith(r, 0);
  std::vector<std::string> pids = absl::StrSplit(absl::StripAsciiWhitespace(r.out), ' ');
  ASSERT_EQ(pids.size(), 2u) << r.out;
  uint32_t child = 0, vchild = 0;
  ASSERT_TRUE(absl::SimpleAtoi(pids[0], &child));
  ASSERT_TRUE(absl::SimpleAtoi(pids[1], &vchild));
  Spool spool = ReadSpool(dir.path());
  EXPECT_EQ(spool.images.size(), 3u);
  EXPECT_EQ(spool.processes_started, 3u);
  const SpoolImage& parent = spool.Image(r.pid, 0);
  const SpoolImage& c = spool.Image(child, 0);
  const SpoolImage& v = spool.Image(vchild, 0);
  EXPECT_EQ(parent.WithSize(Op::kMalloc, 1111).size(), 5u);
  EXPECT_EQ(parent.WithSize(Op::kMalloc, 3333).size(), 2u);
  EXPECT_TRUE(parent.WithSize(Op::kMalloc, 2222).empty());
  std::vector<Event> forks = parent.Select(Op::kFork);
  ASSERT_EQ(forks.size(), 2u);
  EXPECT_EQ(forks[0].e.arg, child);
  EXPECT_EQ(forks[1].e.arg, vchild);

  EXPECT_EQ(c.process.ppid, static_cast<uint32_t>(r.pid));
  EXPECT_EQ(c.WithSize(Op::kMalloc, 2222).size(), 7u);
  EXPECT_EQ(c.WithSize(Op::kFree, 0).size() >= 7, true);
  EXPECT_TRUE(c.WithSize(Op::kMalloc, 1111).empty());  // the parent's buffer stayed behind
  ASSERT_FALSE(c.events.empty());
  EXPECT_EQ(c.events.front().op(), Op::kProcessStart);
  for (const Event& e : c.events) EXPECT_GT(e.e.seq, forks[0].e.seq);
  ASSERT_EQ(c.Select(Op::kProcessExit).size(), 1u);
  EXPECT_EQ(c.Select(Op::kProcessExit)[0].e.arg, 0u);
  EXPECT_FALSE(c.modules.empty());
  EXPECT_FALSE(c.threads.empty());

  EXPECT_EQ(v.WithSize(Op::kMalloc, 2323).size(), 3u);
  ASSERT_EQ(v.Select(Op::kProcessExit).size(), 1u);
  EXPECT_EQ(v.Select(Op::kProcessExit)[0].e.arg, 4u);  // via the _exit hook
}

TEST(Preload, DlopenedLibraryAllocationsAndModules) {
  TempDir dir;
  std::string plugin = BuildDir() + "/programs/librec_plugin.so";
  RunResult r = RunTraced({Program("rec_dlopen"), plugin}, dir.path());
  ExpectExitedWith(r, 0);
  Spool spool = ReadSpool(dir.path());
  const SpoolImage& img = spool.Only();
  std::vector<Event> allocs = img.WithSize(Op::kMalloc, 4321);
  ASSERT_EQ(allocs.size(), 6u);
  EXPECT_EQ(img.WithSize(Op::kMalloc, 1234).size(), 1u);  // the plugin's constructor
  ASSERT_EQ(img.Select(Op::kDlopen).size(), 1u);
  EXPECT_NE(img.Select(Op::kDlopen)[0].e.addr, 0u);
  ASSERT_EQ(img.Select(Op::kDlclose).size(), 1u);
  EXPECT_EQ(img.Select(Op::kDlclose)[0].e.addr, img.Select(Op::kDlopen)[0].e.addr);

  const Module* mod = img.FindModule("librec_plugin.so");
  ASSERT_NE(mod, nullptr);
  bool unloaded = false;
  for (const Module& m : img.modules) {
    if (absl::EndsWith(m.path, "librec_plugin.so") && (m.rec.flags & spool::ModuleRecord::kUnloaded)) {
      unloaded = true;
      EXPECT_EQ(m.rec.lo, mod->rec.lo);
    }
  }
  EXPECT_TRUE(unloaded);
  // The allocations' stacks start in the plugin, and the plugin's module
  // record reached the file before those stacks.
  for (const Event& e : allocs) {
    const std::vector<uint64_t>& pcs = img.stacks.at(e.e.stack);
    ASSERT_FALSE(pcs.empty());
    EXPECT_TRUE(InModule(mod, pcs[0]));
    EXPECT_LT(mod->file_offset, img.stack_offsets.at(e.e.stack));
  }
}

class CrashTest : public ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(CrashTest, EveryEventBeforeTheCrashIsInTheSpool) {
  TempDir dir;
  auto [mode, sig] = GetParam();
  RunResult r = RunTraced({Program("rec_crash"), mode, "500"}, dir.path());
  ASSERT_TRUE(WIFSIGNALED(r.status)) << r.status;
  EXPECT_EQ(WTERMSIG(r.status), sig);
  Spool spool = ReadSpool(dir.path());
  const SpoolImage& img = spool.Only();
  std::vector<Event> allocs = img.WithSize(Op::kMalloc, 5555);
  EXPECT_EQ(allocs.size(), 500u);
  int frees = 0;
  for (const Event& e : img.Select(Op::kFree)) {
    for (const Event& a : allocs) {
      if (a.e.addr == e.e.addr) {
        ++frees;
        break;
      }
    }
  }
  EXPECT_GE(frees, 500);
}

INSTANTIATE_TEST_SUITE_P(Signals, CrashTest,
                         ::testing::Values(std::make_pair("abort", SIGABRT),
                                           std::make_pair("segv", SIGSEGV)));

TEST(Preload, SigkillLeavesAReadableSpool) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_crash"), "kill", "20000"}, dir.path());
  ASSERT_TRUE(WIFSIGNALED(r.status));
  EXPECT_EQ(WTERMSIG(r.status), SIGKILL);
  Spool spool = ReadSpool(dir.path());  // no corrupt chunk, no truncated tail
  const SpoolImage& img = spool.Only();
  size_t allocs = img.WithSize(Op::kMalloc, 5555).size();
  EXPECT_LE(allocs, 20000u);
  // At most one unflushed 64 KiB buffer (~1170 records) is lost.
  EXPECT_GE(allocs, 20000u - 600u);
  uint64_t last = 0;
  for (const Event& e : img.events) {
    EXPECT_GT(e.e.seq, last);
    last = e.e.seq;
  }
}

TEST(Preload, SignalHandlerAllocationsAreRecordedOrCounted) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_signal"), "60000"}, dir.path(), {}, 60);
  ExpectExitedWith(r, 0);
  int runs = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &runs)) << r.out;
  EXPECT_GT(runs, 50);
  Spool spool = ReadSpool(dir.path());
  const SpoolImage& img = spool.Only();
  size_t recorded = img.WithSize(Op::kMalloc, 6666).size();
  // Each handler run is a malloc and a free: recorded, or counted as lost.
  EXPECT_EQ(recorded + spool.lost_events / 2, static_cast<size_t>(runs))
      << "lost " << spool.lost_events;
  EXPECT_EQ(img.lost, spool.lost_events);
  EXPECT_EQ(img.Select(Op::kMmap).size(), 60000u + 0);
  // Some handler runs interrupted a hook and went through the side buffer.
  size_t nested = 0;
  for (const Event& e : img.WithSize(Op::kMalloc, 6666)) nested += e.e.stack == 0;
  RecordProperty("nested_handler_events", static_cast<int>(nested));
}

TEST(Preload, ExecdImageKeepsRecording) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_exec"), "parent"}, dir.path());
  ExpectExitedWith(r, 0);
  Spool spool = ReadSpool(dir.path());
  ASSERT_EQ(spool.images.size(), 2u);
  const SpoolImage& before = spool.Image(r.pid, 0);
  const SpoolImage& after = spool.Image(r.pid, 1);
  EXPECT_EQ(before.WithSize(Op::kMalloc, 1212).size(), 3u);
  ASSERT_EQ(before.Select(Op::kExec).size(), 1u);
  EXPECT_EQ(after.process.image, 1u);
  EXPECT_THAT(after.strings.argv, ElementsAre(HasSubstr("rec_exec"), "child"));
  EXPECT_EQ(after.WithSize(Op::kMalloc, 3434).size(), 4u);
  ASSERT_FALSE(after.events.empty());
  EXPECT_GT(after.events.front().e.seq, before.Select(Op::kExec)[0].e.seq);
}

TEST(Preload, PosixSpawnAndSystemChildrenAreTraced) {
  TempDir dir;
  RunResult r = RunTraced({Program("rec_spawn"), Program("rec_exec")}, dir.path());
  ExpectExitedWith(r, 0);
  uint32_t child = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &child)) << r.out;
  Spool spool = ReadSpool(dir.path());
  const SpoolImage& parent = spool.Image(r.pid, 0);
  ASSERT_EQ(parent.Select(Op::kPosixSpawn).size(), 1u);
  EXPECT_EQ(parent.Select(Op::kPosixSpawn)[0].e.arg, child);
  ASSERT_EQ(parent.Select(Op::kSystem).size(), 1u);
  EXPECT_EQ(parent.Select(Op::kSystem)[0].e.arg, 3u << 8);
  // The spawned child got LD_PRELOAD back although its environment lacked it.
  EXPECT_EQ(spool.Image(child, 0).WithSize(Op::kMalloc, 3434).size(), 4u);
  EXPECT_GE(spool.images.size(), 3u);  // + the shell of system()
}

// Without ATR_SPOOL_DIR the library is loaded and initialized but writes
// nothing: no spool (nor anything else) appears in the places a default
// could go, the working directory, TMPDIR and HOME, all pointed at `dir`.
TEST(Preload, WithoutSpoolDirNothingIsRecorded) {
  TempDir dir, loader_log;
  RunResult r = RunTraced({"/usr/bin/env", "-C", dir.path(), Program("rec_forms")}, "",
                          {"TMPDIR=" + dir.path(), "HOME=" + dir.path(), "LD_DEBUG=files",
                           "LD_DEBUG_OUTPUT=" + loader_log.path() + "/ld"});
  ExpectExitedWith(r, 0);
  EXPECT_TRUE(fs::is_empty(dir.path()));
  // The loader's own log: the library's initializer ran in env and again in
  // rec_forms, which env exec'd.
  std::string log;
  for (const fs::directory_entry& e : fs::directory_iterator(loader_log.path())) {
    std::ifstream in(e.path());
    log.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string init = "calling init: " + PreloadPath() + "\n";
  size_t in_env = log.find(init);
  ASSERT_NE(in_env, std::string::npos) << log;
  size_t program = log.find("initialize program: " + Program("rec_forms"), in_env);
  ASSERT_NE(program, std::string::npos) << log;
  EXPECT_NE(log.rfind(init, program), in_env) << log;  // its own init, after env's
}

TEST(Preload, UnwinderSelection) {
  {
    TempDir dir;
    RunResult r = RunTraced({Program("rec_forms")}, dir.path(), {"ATR_UNWIND=none"});
    ExpectExitedWith(r, 0);
    Spool spool = ReadSpool(dir.path());
    const SpoolImage& img = spool.Only();
    EXPECT_TRUE(img.stacks.empty());
    EXPECT_EQ(Window(img).size(), 89u);
  }
  {
    // rec_forms keeps frame pointers: the fp walk reaches main.
    TempDir dir;
    RunResult r = RunTraced({Program("rec_forms")}, dir.path(), {"ATR_UNWIND=fp", "ATR_FREE_STACKS=0"});
    ExpectExitedWith(r, 0);
    Spool spool = ReadSpool(dir.path());
    const SpoolImage& img = spool.Only();
    const Module* exe = img.FindModule("rec_forms");
    std::vector<Event> w = Window(img);
    EXPECT_EQ(w.size(), 89u);
    for (const Event& e : w) {
      if (IsRelease(e.op()) && e.op() != Op::kReallocRelease) {  // shares realloc's stack
        EXPECT_EQ(e.e.stack, 0u);
      } else if (e.op() == Op::kMalloc && e.e.size == 100) {
        ASSERT_NE(e.e.stack, 0u);
        EXPECT_TRUE(InModule(exe, img.stacks.at(e.e.stack)[0]));
      }
    }
  }
  {
    TempDir dir;
    RunResult r = RunTraced({Program("rec_forms")}, dir.path(), {"ATR_MAX_DEPTH=2"});
    ExpectExitedWith(r, 0);
    Spool spool = ReadSpool(dir.path());
    for (const auto& [hash, pcs] : spool.Only().stacks) EXPECT_LE(pcs.size(), 2u);
  }
}

}  // namespace
}  // namespace atr
