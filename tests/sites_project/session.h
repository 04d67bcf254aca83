#pragma once
#include <cstdint>
#include <memory>

namespace demo {

struct Session {  // 184 bytes
  int64_t id;
  char user[160];
  int64_t last_seen;
  int64_t flags;
};

struct Packet {  // 64 bytes, with a destructor: new[] adds a cookie
  char data[64];
  ~Packet();
};

struct Config {  // 96 bytes
  int64_t values[12];
};

struct Cache {  // 256 bytes
  char lines[256];
};

// A template that allocates T: one site in the source, one per
// instantiation in the scan.
template <typename T>
__attribute__((noinline)) T* create_one() {
  return new T();  // SITE: new T
}

Session* accept_loop(int n);
Packet* make_packets();
Config* load_config();
std::shared_ptr<Cache>* share_cache();

}  // namespace demo
