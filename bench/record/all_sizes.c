/* Every allocation size from 16 to 512 bytes, from a few hundred distinct
 * call stacks: the input that makes heaptrack 1.4's interpreter grow past
 * 18 GB. bench/record/run.sh records it to check that the collector's memory
 * is bounded by live blocks and distinct stacks, not by trace length.
 *
 * Usage: atr-bench-all-sizes [rounds, default 20]
 *   each round: 300 stacks x 497 sizes = 149,100 malloc + as many frees;
 *   a ring of 1024 blocks stays live. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define RING 1024

static void* ring[RING];
static unsigned ring_pos;
static uint64_t checksum;

static __attribute__((noinline)) int leaf(int path) {
  for (size_t size = 16; size <= 512; ++size) {
    char* p = malloc(size);
    p[0] = (char)path;
    checksum += (uintptr_t)p & 0xff;
    unsigned slot = ring_pos++ % RING;
    free(ring[slot]);
    ring[slot] = p;
  }
  return path & 1;
}

static int left(int depth, int path);
static int right(int depth, int path);

static __attribute__((noinline)) int descend(int depth, int path) {
  if (depth == 0) return leaf(path);
  int r = (path >> depth) & 1 ? left(depth - 1, path) : right(depth - 1, path);
  return r + 1;
}
static __attribute__((noinline)) int left(int depth, int path) { return descend(depth, path) + 2; }
static __attribute__((noinline)) int right(int depth, int path) { return descend(depth, path) + 3; }

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  for (int r = 0; r < rounds; ++r) {
    for (int path = 0; path < 300; ++path) checksum += (uint64_t)descend(8, path << 1);
  }
  for (int i = 0; i < RING; ++i) free(ring[i]);
  printf("all_sizes: checksum %llu\n", (unsigned long long)(checksum & 0xffff));
  return 0;
}
