/* A signal handler that allocates (malloc 6666 + free) interrupts the main
 * thread while it allocates address space in a loop (mmap/munmap: they go
 * through the hooks but never hold glibc's malloc locks, so malloc in the
 * handler is safe). Prints how many times the handler ran. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "rec_common.h"

static volatile sig_atomic_t g_runs;
static volatile int g_stop;

static void on_usr1(int sig) {
  (void)sig;
  void* p = malloc(6666);
  rec_sink(p);
  free(p);
  ++g_runs;
}

static void* pester(void* arg) {
  pthread_t main_thread = *(pthread_t*)arg;
  struct timespec ts = {0, 20000};
  while (!g_stop) {
    pthread_kill(main_thread, SIGUSR1);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int main(int argc, char** argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 100000;
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t self = pthread_self(), t;
  pthread_create(&t, NULL, pester, &self);
  for (long i = 0; i < iterations; ++i) {
    void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 4096);
  }
  g_stop = 1;
  pthread_join(t, NULL);
  /* Block the signal before reading the count: no handler runs after. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  printf("%d\n", (int)g_runs);
  return 0;
}
