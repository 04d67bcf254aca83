#include "db/synthetic_event_stream.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <random>
#include <vector>

#include "db/ops.h"

namespace atr {
namespace {

struct Site {
  Op op;               // acquiring op
  uint64_t size;       // typical request
  double mean_life;    // events until its blocks are freed; 0 = leaked
  int64_t stack;       // stacks.id of the allocation
  int64_t free_stack;  // and of its usual release
  uint32_t sp_depth;
};

struct Block {
  uint64_t addr;
  uint64_t size;
  size_t row;  // the allocation's row
  int site;
};

struct Due {
  size_t step;
  size_t block;
  bool operator>(const Due& o) const { return step > o.step; }
};

class Generator {
 public:
  explicit Generator(const SyntheticStreamOptions& o)
      : o_(o), rng_(o.seed), threads_(o.threads), next_seq_(o.first_seq) {
    for (int t = 0; t < o.threads; ++t) {
      // Main arena after the executable; other threads in their own 64 MiB arenas.
      threads_[t].bump = t == 0 ? 0x5555'5575'0000ull : 0x7f3a'0000'0000ull + (uint64_t(t) << 26);
    }
    std::uniform_real_distribution<double> unit;
    for (int s = 0; s < o.sites; ++s) {
      const double u = unit(rng_);
      Op op = u < 0.45    ? Op::kMalloc
              : u < 0.80  ? Op::kNew
              : u < 0.88  ? Op::kNewArray
              : u < 0.93  ? Op::kCalloc
              : u < 0.985 ? Op::kRealloc
                          : Op::kPosixMemalign;
      const double life = unit(rng_);
      sites_.push_back(
          Site{.op = op,
               .size = static_cast<uint64_t>(std::exp2(3 + 9 * unit(rng_) * unit(rng_))),
               .mean_life = life < 0.02  ? 0.0
                            : life < 0.6 ? 8.0
                            : life < 0.9 ? 300.0
                                         : 30000.0,
               .stack = 1 + static_cast<int64_t>(rng_() % 60000),
               .free_stack = 1 + static_cast<int64_t>(rng_() % 60000),
               .sp_depth = 400 + static_cast<uint32_t>(rng_() % 6000) * 16});
    }
  }

  EventColumns Run() {
    out_.Resize(0);
    int thread = 0;
    int burst = 0;
    while (out_.seq.size() < o_.events) {
      if (burst-- <= 0) {  // the scheduler moves to another thread
        thread = static_cast<int>(rng_() % o_.threads);
        burst = 1 + static_cast<int>(rng_() % 40);
        ts_ += 2000 + rng_() % 20000;
      }
      Step(thread);
      ++step_;
    }
    return std::move(out_);
  }

 private:
  struct ThreadState {
    uint64_t bump = 0;
    std::vector<std::vector<uint64_t>> free_lists = std::vector<std::vector<uint64_t>>(64);
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
  };

  // Zipf-like pick: a few sites make most calls.
  int PickSite() {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return std::min(o_.sites - 1, static_cast<int>(o_.sites * u * u * u));
  }

  void Step(int t) {
    ThreadState& th = threads_[t];
    if (!th.due.empty() && th.due.top().step <= step_) {
      const size_t b = th.due.top().block;
      th.due.pop();
      Release(t, b);
      return;
    }
    Allocate(t, PickSite());
  }

  uint64_t Place(int t, uint64_t size) {
    ThreadState& th = threads_[t];
    if (size > (64 << 10)) {  // mmap'd chunk
      mmap_top_ -= (size + 4096 + 4095) & ~uint64_t{4095};
      return mmap_top_ + 16;
    }
    const size_t cls = std::min<size_t>(63, (size + 15) / 16 / 8);
    std::vector<uint64_t>& list = th.free_lists[cls];
    if (!list.empty() && rng_() % 8 != 0) {
      const uint64_t a = list.back();
      list.pop_back();
      return a;
    }
    const uint64_t a = th.bump + 16;
    th.bump += ((size + 15) & ~uint64_t{15}) + 16;
    return a;
  }

  size_t Row(int t, Op op, uint64_t addr, uint64_t size, uint64_t arg, int64_t stack, uint32_t sp) {
    ts_ += 40 + static_cast<int64_t>(std::exponential_distribution<double>(1.0 / 120)(rng_));
    // Another CPU's clock may read a little behind.
    const int64_t skew = rng_() % 64 == 0 ? -static_cast<int64_t>(rng_() % 300) : 0;
    out_.seq.push_back(next_seq_++);
    out_.ts_ns.push_back(ts_ + skew);
    out_.thread.push_back(t + 1);
    out_.op.push_back(static_cast<uint8_t>(op));
    out_.addr.push_back(addr);
    out_.size.push_back(size);
    out_.arg.push_back(arg);
    out_.stack.push_back(stack);
    out_.sp_depth.push_back(sp);
    out_.free_after.push_back(0);
    return out_.seq.size() - 1;
  }

  void Schedule(int t, size_t block) {
    const Site& s = sites_[blocks_[block].site];
    if (s.mean_life == 0) return;  // leaked
    const auto life =
        static_cast<size_t>(std::exponential_distribution<double>(1 / s.mean_life)(rng_));
    // One block in twenty is freed by another thread.
    const int owner = rng_() % 20 == 0 ? static_cast<int>(rng_() % o_.threads) : t;
    threads_[owner].due.push(Due{step_ + 1 + life, block});
  }

  void Allocate(int t, int site) {
    const Site& s = sites_[site];
    uint64_t size = rng_() % 4 == 0 ? s.size + rng_() % (s.size + 1) : s.size;
    const uint32_t sp = s.sp_depth + (rng_() % 4 == 0 ? 16 * static_cast<uint32_t>(rng_() % 8) : 0);
    if (rng_() % 20000 == 0) {  // a failed request
      Row(t, s.op, 0, rng_() % 2 == 0 ? ~uint64_t{0} : uint64_t{1} << 46, 0, s.stack, sp);
      return;
    }
    uint64_t arg = 0;
    if (s.op == Op::kCalloc) {
      arg = 1 + rng_() % 8;
      size *= arg;
    }
    if (s.op == Op::kPosixMemalign) arg = 64;
    if (s.op == Op::kRealloc && !live_.empty()) {
      // Grow a recent live block: release half, then the new block.
      const size_t old = live_[rng_() % live_.size()];
      if (blocks_[old].addr != 0) {
        const Block ob = blocks_[old];
        blocks_[old].addr = 0;  // no longer live
        const size_t rel = Row(t, Op::kReallocRelease, ob.addr, 0, 0, s.stack, sp);
        out_.free_after[ob.row] = out_.seq[rel] - out_.seq[ob.row];
        const uint64_t new_size = ob.size + size;
        const uint64_t addr = rng_() % 3 == 0 ? ob.addr : Place(t, new_size);
        AddBlock(t, site, Row(t, Op::kRealloc, addr, new_size, ob.addr, s.stack, sp), addr,
                 new_size);
        return;
      }
    }
    const Op op = s.op == Op::kRealloc ? Op::kMalloc : s.op;
    const uint64_t addr = Place(t, size);
    AddBlock(t, site, Row(t, op, addr, size, arg, s.stack, sp), addr, size);
  }

  void AddBlock(int t, int site, size_t row, uint64_t addr, uint64_t size) {
    blocks_.push_back(Block{addr, size, row, site});
    // Realloc candidates: the 4096 most recent blocks, as a ring.
    if (live_.size() < 4096) {
      live_.push_back(blocks_.size() - 1);
    } else {
      live_[next_live_++ % live_.size()] = blocks_.size() - 1;
    }
    Schedule(t, blocks_.size() - 1);
  }

  void Release(int t, size_t b) {
    Block& block = blocks_[b];
    if (block.addr == 0) return;  // realloc'd meanwhile
    const Site& s = sites_[block.site];
    const Op acquired = static_cast<Op>(out_.op[block.row]);
    Op op = Op::kFree;
    uint64_t size = 0;
    if (acquired == Op::kNew) {
      op = rng_() % 10 < 7 ? Op::kDeleteSized : Op::kDelete;
      if (op == Op::kDeleteSized) size = block.size;
    } else if (acquired == Op::kNewArray) {
      op = Op::kDeleteArray;
    }
    const size_t row = Row(t, op, block.addr, size, 0, s.free_stack, s.sp_depth + 32);
    out_.free_after[block.row] = out_.seq[row] - out_.seq[block.row];
    if (block.size <= (64 << 10)) {
      threads_[t].free_lists[std::min<size_t>(63, (block.size + 15) / 16 / 8)].push_back(
          block.addr);
    }
    block.addr = 0;
  }

  SyntheticStreamOptions o_;
  std::mt19937_64 rng_;
  std::vector<ThreadState> threads_;
  std::vector<Site> sites_;
  std::vector<Block> blocks_;
  std::vector<size_t> live_;
  size_t next_live_ = 0;
  EventColumns out_;
  int64_t next_seq_;
  int64_t ts_ = 1'000'000;
  size_t step_ = 0;
  uint64_t mmap_top_ = 0x7f3c'0000'0000ull;
};

}  // namespace

EventColumns MakeSyntheticHeapStream(const SyntheticStreamOptions& options) {
  EventColumns c = Generator(options).Run();
  c.Resize(options.events);  // a realloc may have added one row past the end
  return c;
}

}  // namespace atr
