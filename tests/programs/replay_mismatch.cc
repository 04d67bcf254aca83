// For `atr check`'s end-to-end test: mismatched allocation families that
// glibc lets pass silently (operator new is malloc underneath), and a sized
// delete with the wrong size.
#include <cstdio>
#include <cstdlib>
#include <new>

__attribute__((noinline)) void* make_with_new() { return ::operator new(40); }
__attribute__((noinline)) void release_with_free(void* p) { std::free(p); }
__attribute__((noinline)) void* make_with_malloc() { return std::malloc(24); }
__attribute__((noinline)) void release_with_delete(void* p) { ::operator delete(p); }
__attribute__((noinline)) void release_sized(void* p, std::size_t n) { ::operator delete(p, n); }

int main() {
  release_with_free(make_with_new());        // new / free
  release_with_delete(make_with_malloc());   // malloc / delete
  release_sized(::operator new(32), 16);     // sized delete, wrong size
  std::puts("done");
  return 0;
}
