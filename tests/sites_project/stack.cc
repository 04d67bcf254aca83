#include <alloca.h>

#include <cstring>

namespace demo {

// Big local array and an alloca: stack sites (a stack_frame estimate for
// the function); the strdup is the heap allocation the trace sees from it.
__attribute__((noinline)) char* use_stack_buffers(int n) {
  char big[8192];  // SITE: char[8192] on the stack
  std::memset(big, 'a', sizeof big);
  big[n] = 0;
  char* tmp = static_cast<char*>(alloca(n + 1));  // SITE: alloca char
  std::memcpy(tmp, big, n + 1);
  return strdup(tmp);  // SITE: strdup char
}

}  // namespace demo
