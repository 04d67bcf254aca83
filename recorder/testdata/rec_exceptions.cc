// C++ exceptions thrown through frames that allocate while they are being
// recorded: allocations in the throw expression and in __cxa_allocate_exception,
// frees in destructors run during unwinding, a rethrow, a nested throw
// inside a catch, std::exception_ptr, on two threads. Prints the number of
// exceptions caught (the unwinder test compares stacks, not output).
//
// Usage: rec_exceptions [rounds per thread, default 2000]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Guard {  // frees its block while the exception passes through
  std::unique_ptr<std::vector<int>> v;
};

__attribute__((noinline)) void Thrower(int depth) {
  Guard g{std::make_unique<std::vector<int>>(static_cast<size_t>(depth) + 3)};
  if (depth == 0) throw std::runtime_error(std::string(48, 'x'));  // heap message
  try {
    Thrower(depth - 1);
  } catch (const std::runtime_error&) {
    auto* note = new std::string(64, 'n');  // allocation inside a catch block
    delete note;
    throw;  // rethrow through the remaining frames
  }
}

__attribute__((noinline)) int NestedCatch() {
  try {
    Thrower(6);
  } catch (const std::exception& outer) {
    try {
      throw std::logic_error(std::string(40, 'l'));  // a throw while one is caught
    } catch (const std::logic_error&) {
      return 2;
    }
  }
  return 0;
}

__attribute__((noinline)) int ViaExceptionPtr() {
  std::exception_ptr p;
  try {
    Thrower(3);
  } catch (...) {
    p = std::current_exception();
  }
  try {
    std::rethrow_exception(p);
  } catch (const std::runtime_error&) {
    return 1;
  }
  return 0;
}

int Rounds(int n) {
  int caught = 0;
  for (int i = 0; i < n; ++i) {
    try {
      Thrower(i % 12);
    } catch (const std::runtime_error&) {
      ++caught;
    }
    caught += NestedCatch() + ViaExceptionPtr();
  }
  return caught;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  int other = 0;
  std::thread t([&] { other = Rounds(rounds); });
  int mine = Rounds(rounds);
  t.join();
  printf("%d\n", mine + other);
  return 0;
}
