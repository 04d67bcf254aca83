#include "session.h"

#include <cstdio>

namespace demo {

Packet::~Packet() { data[0] = 0; }

__attribute__((noinline)) Session* accept_loop(int n) {
  Session* last = nullptr;
  for (int i = 0; i < n; ++i) {
    last = new Session{i, {}, i, 0};  // SITE: new Session
    std::snprintf(last->user, sizeof last->user, "user%d", i);
  }
  return last;
}

__attribute__((noinline)) Packet* make_packets() {
  return new Packet[4];  // SITE: new Packet[]
}

__attribute__((noinline)) Config* load_config() {
  std::unique_ptr<Config> c = std::make_unique<Config>();  // SITE: make_unique Config
  c->values[0] = 1;
  return c.release();
}

__attribute__((noinline)) std::shared_ptr<Cache>* share_cache() {
  auto* keep = new std::shared_ptr<Cache>;  // SITE: new std::shared_ptr<Cache>
  *keep = std::make_shared<Cache>();  // SITE: make_shared Cache
  return keep;
}

}  // namespace demo
