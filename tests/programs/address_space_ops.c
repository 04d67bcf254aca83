/* Calls mremap, brk and sbrk a known number of times with known arguments,
 * and nothing else that moves the break (glibc's malloc uses its private
 * __sbrk, which atr does not see): address_space_test checks each call in
 * the trace.
 *
 *   mremap  3 calls: one page grown to 2, 4, then 8 pages (may move)
 *   sbrk    4 calls: sbrk(0), +4 pages, +4 pages, -8 pages
 *   brk     2 calls: the start break + 2 pages, then the start break
 *
 * Prints the page size and the start break (sbrk(0)) for the test. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  size_t len = (size_t)page;
  void* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (int i = 0; i < 3; ++i) {
    void* q = mremap(p, len, len * 2, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return 1;
    p = q;
    len *= 2;
  }
  munmap(p, len);

  char* start = sbrk(0);
  if (sbrk(4 * page) == (void*)-1 || sbrk(4 * page) == (void*)-1) return 1;
  if (sbrk(-8 * page) == (void*)-1) return 1;
  if (brk(start + 2 * page) != 0 || brk(start) != 0) return 1;
  printf("%ld %ju\n", page, (uintmax_t)(uintptr_t)start);
  return 0;
}
