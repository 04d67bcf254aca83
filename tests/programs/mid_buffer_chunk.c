// Makes the preload library write a thread's buffer from the middle: the
// worker thread's next chunk then opens with a DeltaBaseRecord
// (recorder/spool_compact.h, docs/recorder.md "Spool records").
//
// Only a flush of *every* thread's buffer (FlushAllRegions in
// recorder/preload/thread_buffer.cc) writes another thread's buffer out
// without emptying it; the owner's next flush then starts where that write
// ended. That flush runs before an exec, at exit() and on a crash. A fork
// and a thread's exit flush only their own thread's buffer, so they never
// make such a chunk. Of the three, the worker goes on recording afterwards
// only when the exec fails or, during exit(), until the process is gone;
// both are made deterministic here:
//
//   mid_buffer_chunk exec   main calls execv() on a path that does not
//                           exist (ENOENT) while the worker is blocked with
//                           kFirst mallocs in its buffer, then lets it go on.
//   mid_buffer_chunk exit   main calls exit() while the worker is blocked in
//                           read(2) on a pipe; exit()'s last step, flushing
//                           stdio, writes kFill bytes into that pipe, which
//                           wakes the worker and blocks main until the
//                           worker has read them all, so the worker's
//                           second phase runs after the library's exit
//                           flushes and before the process ends.
//
// The worker, by sizes (the test counts exactly these):
//   phase 1: malloc(1000 + i), i < kFirst, kept live;
//   phase 2: free of those, then malloc(2000 + i) / free, i < kSecond.
// Every block is freed by the worker itself; exit status 0.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kFirst = 64, kSecond = 64, kFill = 128 * 1024 };

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_ready, g_go;
static int g_pipe[2] = {-1, -1};  // exit mode: main's stdio -> worker
static void* volatile g_sink;

static void Wait(int* flag) {
  pthread_mutex_lock(&g_lock);
  while (!*flag) pthread_cond_wait(&g_cond, &g_lock);
  pthread_mutex_unlock(&g_lock);
}

static void Set(int* flag) {
  pthread_mutex_lock(&g_lock);
  *flag = 1;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
}

__attribute__((noinline)) static void SecondPhase(char** first) {
  for (int i = 0; i < kFirst; ++i) free(first[i]);
  for (int i = 0; i < kSecond; ++i) {
    char* p = malloc(2000 + i);
    memset(p, i, 16);
    g_sink = p;
    free(p);
  }
}

static void* Worker(void* arg) {
  const int exit_mode = arg != NULL;
  static char* first[kFirst];
  for (int i = 0; i < kFirst; ++i) {
    first[i] = malloc(1000 + i);
    memset(first[i], i, 16);
  }
  Set(&g_ready);
  if (!exit_mode) {
    Wait(&g_go);
    SecondPhase(first);
    return NULL;
  }
  static char buf[4096];
  ssize_t n;
  do n = read(g_pipe[0], buf, 1); while (n < 0 && errno == EINTR);
  if (n != 1) _exit(20);
  SecondPhase(first);
  // Let main's write finish: it ends the process.
  for (size_t got = 1; got < kFill;) {
    n = read(g_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(21);
    got += (size_t)n;
  }
  for (;;) pause();
}

int main(int argc, char** argv) {
  const int exit_mode = argc == 2 && strcmp(argv[1], "exit") == 0;
  if (argc != 2 || (!exit_mode && strcmp(argv[1], "exec") != 0)) {
    fprintf(stderr, "usage: mid_buffer_chunk exec|exit\n");
    return 2;
  }
  FILE* out = NULL;
  if (exit_mode) {
    // A buffer larger than the pipe holds: exit()'s stdio flush blocks
    // until the worker has read everything.
    static char stdio_buf[2 * kFill];
    static char fill[kFill];
    if (pipe(g_pipe) != 0 || (out = fdopen(g_pipe[1], "w")) == NULL ||
        setvbuf(out, stdio_buf, _IOFBF, sizeof stdio_buf) != 0 ||
        fwrite(fill, 1, sizeof fill, out) != sizeof fill) {
      return 10;
    }
  }
  pthread_t worker;
  if (pthread_create(&worker, NULL, Worker, exit_mode ? (void*)1 : NULL) != 0) return 11;
  Wait(&g_ready);
  if (exit_mode) exit(0);  // the worker finishes phase 2 inside it
  char* args[] = {"/nonexistent/atr-mid-buffer-chunk", NULL};
  execv(args[0], args);
  if (errno != ENOENT) return 12;
  Set(&g_go);
  pthread_join(worker, NULL);
  return 0;
}
