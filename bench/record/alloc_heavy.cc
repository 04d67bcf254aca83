// Allocation-heavy benchmark workload for `atr record` (bench/record/run.sh).
//
// Two threads make about 5 M allocation calls (malloc 70%, new[] 20%,
// calloc 5%, realloc 5%) and about 4 M frees, from call stacks 10-20 frames
// deep (a chain of two alternating noinline functions chosen by a path
// number, so a few hundred distinct stacks). Each allocation replaces a
// random slot of a per-thread ring; the displaced block is freed (~80%),
// handed to the other thread to free (~3%), or kept until exit (~17%: the
// ~1 M blocks still live at exit).
//
// Usage: atr-bench-alloc-heavy [allocation calls per thread, default 2500000]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr int kRing = 4096;
constexpr int kOpsPerLeaf = 16;
constexpr int kInbox = 1 << 16;

struct Block {
  void* p;
  uint8_t kind;  // 0: malloc family, 1: new[]
};

// Blocks one thread hands to the other for freeing.
struct Inbox {
  std::mutex mu;
  Block items[kInbox];
  int n = 0;
};

Inbox g_inbox[2];

void Release(Block b) {
  if (b.kind == 1) {
    delete[] static_cast<char*>(b.p);
  } else {
    free(b.p);
  }
}

struct Worker {
  int id;
  uint64_t rng;
  int64_t remaining;
  Block ring[kRing];
  Block* kept;
  int64_t kept_n = 0;
  uint64_t checksum = 0;

  uint64_t Next() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }

  // Ten sizes: heaptrack 1.4's interpreter keeps a record per (stack,
  // size) and runs out of memory on many distinct sizes (see all_sizes.c).
  size_t Size() {
    static constexpr size_t kSizes[16] = {16, 16, 24, 24, 32, 32, 32, 48,
                                          48, 64, 64, 96, 128, 256, 512, 4096};
    return kSizes[(Next() >> 24) & 15];
  }

  void Displace(Block old) {
    if (old.p == nullptr) return;
    uint64_t r = Next() % 100;
    if (r < 80) {
      Release(old);
    } else if (r < 83) {
      Inbox& other = g_inbox[1 - id];
      std::lock_guard<std::mutex> l(other.mu);
      if (other.n < kInbox) {
        other.items[other.n++] = old;
      } else {
        Release(old);
      }
    } else {
      kept[kept_n++] = old;
    }
  }

  void DrainInbox() {
    Inbox& mine = g_inbox[id];
    Block local[512];
    int n;
    {
      std::lock_guard<std::mutex> l(mine.mu);
      n = mine.n < 512 ? mine.n : 512;
      mine.n -= n;
      memcpy(local, mine.items + mine.n, sizeof(Block) * n);
    }
    for (int i = 0; i < n; ++i) Release(local[i]);
  }
};

__attribute__((noinline)) int Leaf(Worker& w, int path) {
  for (int i = 0; i < kOpsPerLeaf && w.remaining > 0; ++i, --w.remaining) {
    uint64_t r = w.Next();
    Block& slot = w.ring[(r >> 32) % kRing];
    int kind = static_cast<int>(r % 20);
    size_t n = w.Size();
    Block b{nullptr, 0};
    if (kind < 14) {
      b.p = malloc(n);
    } else if (kind < 18) {
      b.p = new char[n];
      b.kind = 1;
    } else if (kind < 19) {
      b.p = calloc(1, n);
    } else {
      if (slot.p != nullptr && slot.kind == 0) {
        slot.p = realloc(slot.p, n);  // replaces the slot's block in place
        static_cast<char*>(slot.p)[0] = static_cast<char>(path);
        continue;
      }
      b.p = realloc(nullptr, n);
    }
    static_cast<char*>(b.p)[0] = static_cast<char>(path);
    w.checksum += reinterpret_cast<uintptr_t>(b.p) & 0xff;
    w.Displace(slot);
    slot = b;
  }
  return path & 1;
}

int DescendA(Worker& w, int depth, int path);
int DescendB(Worker& w, int depth, int path);

// Not a tail call: the +1 keeps every frame on the stack.
__attribute__((noinline)) int Descend(Worker& w, int depth, int path) {
  if (depth == 0) return Leaf(w, path);
  int r = (path >> depth) & 1 ? DescendA(w, depth - 1, path) : DescendB(w, depth - 1, path);
  return r + 1;
}
__attribute__((noinline)) int DescendA(Worker& w, int depth, int path) {
  return Descend(w, depth, path) + 2;
}
__attribute__((noinline)) int DescendB(Worker& w, int depth, int path) {
  return Descend(w, depth, path) + 3;
}

void Run(Worker* w) {
  uint64_t rounds = 0;
  while (w->remaining > 0) {
    int path = static_cast<int>(w->Next() % 97);
    int depth = 3 + static_cast<int>(rounds % 4);  // 2*depth+4 = 10..16 frames + runtime
    w->checksum += Descend(*w, depth, path);
    if ((++rounds & 15) == 0) w->DrainInbox();
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t per_thread = argc > 1 ? atoll(argv[1]) : 2'500'000;
  std::vector<Worker*> workers;
  for (int i = 0; i < 2; ++i) {
    auto* w = static_cast<Worker*>(calloc(1, sizeof(Worker)));
    w->id = i;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    w->remaining = per_thread;
    w->kept = static_cast<Block*>(malloc(sizeof(Block) * per_thread));
    workers.push_back(w);
  }
  std::thread t([&] { Run(workers[1]); });
  Run(workers[0]);
  t.join();
  for (int i = 0; i < 2; ++i) {
    // Leftovers in the inboxes are freed; ring and kept blocks stay live.
    while (g_inbox[i].n > 0) Release(g_inbox[i].items[--g_inbox[i].n]);
  }
  uint64_t sum = workers[0]->checksum + workers[1]->checksum;
  int64_t kept = workers[0]->kept_n + workers[1]->kept_n;
  std::printf("alloc_heavy: checksum %llu, kept %lld\n", static_cast<unsigned long long>(sum & 0xffff),
              static_cast<long long>(kept));
  return 0;
}
