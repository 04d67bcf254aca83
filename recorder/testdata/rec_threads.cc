// Cross-thread frees under contention: producers malloc, consumers free
// what others allocated, through a small mutex-protected ring (which itself
// never allocates). argv[1] = blocks per producer (default 20000).
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "rec_common.h"

namespace {

constexpr int kProducers = 2, kConsumers = 2, kRing = 256;
void* g_ring[kRing];
int g_head, g_tail, g_count;
int g_done_producers;
pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
long g_per_producer = 20000;

void* Produce(void* arg) {
  unsigned seed = static_cast<unsigned>(reinterpret_cast<uintptr_t>(arg));
  for (long i = 0; i < g_per_producer; ++i) {
    seed = seed * 1103515245u + 12345u;
    void* p = malloc(16 + (seed >> 16) % 256);
    pthread_mutex_lock(&g_mu);
    while (g_count == kRing) pthread_cond_wait(&g_cv, &g_mu);
    g_ring[g_head] = p;
    g_head = (g_head + 1) % kRing;
    ++g_count;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
  }
  pthread_mutex_lock(&g_mu);
  ++g_done_producers;
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  return nullptr;
}

void* Consume(void*) {
  for (;;) {
    pthread_mutex_lock(&g_mu);
    while (g_count == 0 && g_done_producers < kProducers) pthread_cond_wait(&g_cv, &g_mu);
    if (g_count == 0) {
      pthread_mutex_unlock(&g_mu);
      return nullptr;
    }
    void* p = g_ring[g_tail];
    g_tail = (g_tail + 1) % kRing;
    --g_count;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    free(p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_per_producer = atol(argv[1]);
  pthread_t t[kProducers + kConsumers];
  for (int i = 0; i < kProducers; ++i) {
    pthread_create(&t[i], nullptr, Produce, reinterpret_cast<void*>(uintptr_t(i + 1)));
  }
  for (int i = 0; i < kConsumers; ++i) pthread_create(&t[kProducers + i], nullptr, Consume, nullptr);
  pthread_setname_np(t[0], "producer-0");
  for (pthread_t& th : t) pthread_join(th, nullptr);
  return 0;
}
