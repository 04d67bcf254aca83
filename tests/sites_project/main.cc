// sites_demo: leaks exactly one block (or one group) from every site, so
// `atr leaks` lists them all.
#include <cstdlib>
#include <vector>

#include "session.h"

extern "C" {
struct Buf* new_buf(void);
struct Entry* new_table(void);
char* grow_text(char* p);
}

namespace demo {
char* use_stack_buffers(int n);
void fill_items(int n);
void index_names();
void write_log();
}  // namespace demo

volatile void* g_keep[32];

int main() {
  int k = 0;
  g_keep[k++] = demo::accept_loop(3);
  g_keep[k++] = demo::make_packets();
  g_keep[k++] = demo::load_config();
  g_keep[k++] = demo::share_cache();
  g_keep[k++] = demo::create_one<demo::Session>();
  g_keep[k++] = demo::create_one<demo::Config>();
  g_keep[k++] = new_buf();
  g_keep[k++] = new_table();
  g_keep[k++] = grow_text(static_cast<char*>(std::malloc(10)));  // SITE: malloc
  g_keep[k++] = demo::use_stack_buffers(100);
  demo::fill_items(5);
  demo::index_names();
  demo::write_log();
  return 0;
}
