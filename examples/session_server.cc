// The bundled example that `atr demo` records: a toy request handler whose
// memory behaviour is known by construction.
//
//   * parse_request() allocates short-lived 48-byte tokens, freed at the end
//     of every request;
//   * keep_session() allocates one 48-byte Session per 16 requests and keeps
//     it: the sessions land in the same size class, interleaved with the
//     tokens, so once the tokens are freed every span stays pinned by a few
//     sessions. This is the fragmentation culprit atr must rank first.
//   * load_config() leaks one 200-byte block per 100 requests (the leak).
//   * a worker thread answers part of the requests, so the trace has two
//     threads and cross-thread frees.
//
// Usage: session_server [requests]   (default 20000)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

struct Token {
  char text[40];
  Token* next;
};
static_assert(sizeof(Token) == 48);

struct Session {
  long id;
  char user[32];
  long last_seen;
};
static_assert(sizeof(Session) == 48);

std::vector<Session*> g_sessions;

__attribute__((noinline)) Token* parse_request(int request, int tokens) {
  Token* head = nullptr;
  for (int i = 0; i < tokens; ++i) {
    Token* t = new Token;
    std::snprintf(t->text, sizeof t->text, "req%d-tok%d", request, i);
    t->next = head;
    head = t;
  }
  return head;
}

__attribute__((noinline)) void release_tokens(Token* head) {
  while (head) {
    Token* next = head->next;
    delete head;
    head = next;
  }
}

__attribute__((noinline)) void keep_session(int request) {
  Session* s = new Session{request, {}, request};
  std::snprintf(s->user, sizeof s->user, "user%d", request);
  g_sessions.push_back(s);
}

__attribute__((noinline)) char* load_config(int request) {
  char* config = static_cast<char*>(std::malloc(200));
  std::snprintf(config, 200, "config for request %d", request);
  return config;  // the caller forgets it: a leak
}

__attribute__((noinline)) void handle_request(int request) {
  Token* tokens = parse_request(request, 24);
  if (request % 16 == 0) keep_session(request);
  if (request % 100 == 0) {
    volatile char* c = load_config(request);
    (void)c;
  }
  release_tokens(tokens);
}

}  // namespace

int main(int argc, char** argv) {
  int requests = argc > 1 ? std::atoi(argv[1]) : 20000;
  // The worker parses a batch of requests; main releases them: frees that
  // cross threads, as in a real pipeline.
  std::vector<Token*> batch(requests / 4);
  std::thread worker([&] {
    for (size_t i = 0; i < batch.size(); ++i) batch[i] = parse_request(-int(i), 4);
  });
  worker.join();
  for (Token* t : batch) release_tokens(t);

  for (int r = 0; r < requests; ++r) handle_request(r);
  std::printf("served %d requests, %zu sessions kept\n", requests, g_sessions.size());
  for (Session* s : g_sessions) delete s;  // sessions end; configs stay leaked
  return 0;
}
