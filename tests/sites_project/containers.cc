#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace demo {

struct Item {  // 24 bytes
  int64_t key;
  int64_t value;
  int64_t stamp;
};

std::vector<Item>* g_items;
std::map<std::string, int64_t>* g_index;
std::string* g_log;

__attribute__((noinline)) void fill_items(int n) {
  g_items = new std::vector<Item>;  // SITE: new std::vector<Item>
  for (int i = 0; i < n; ++i) {
    g_items->push_back(Item{i, i * 2, i * 3});  // SITE: push_back Item
  }
}

__attribute__((noinline)) void index_names() {
  g_index = new std::map<std::string, int64_t>;  // SITE: new std::map<std::string, int64_t>
  (*g_index)["a-rather-long-key-that-does-not-fit-sso"] = 1;  // SITE: operator[] std::pair<const std::basic_string<char>, long>
}

__attribute__((noinline)) void write_log() {
  g_log = new std::string;  // SITE: new std::string
  g_log->append(200, 'x');  // SITE: append char
}

}  // namespace demo
