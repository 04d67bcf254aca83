// The bundled example that `atr demo` records: a toy server whose memory
// behaviour is known by construction.
//
//   Phase 1, serving: requests arrive in batches of 1000 in flight. Each
//   request's parse_request() allocates 24 short-lived 48-byte Tokens, freed
//   when its batch completes; every 16th request also calls keep_session(),
//   which allocates a 48-byte Session that lives until shutdown. Sessions
//   and tokens share the 48-byte size class, so the sessions end up
//   scattered over every span the tokens used.
//   Phase 2, reporting: build_report() allocates 64-byte Rows (another size
//   class): the free token slots cannot serve them, so resident memory
//   peaks with the 48-byte spans still pinned by a few sessions each.
//   => keep_session is the fragmentation culprit `atr frag` must rank first.
//
//   load_config() leaks one 200-byte block per 100 requests (the leak), and
//   a worker thread parses the first batch while main releases it (two
//   threads, cross-thread frees).
//
// Usage: atr-example-session_server [requests]   (default 20000)
#include <cstdio>
#include <cstdlib>
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

struct Row {
  char cells[56];
  Row* next;
};
static_assert(sizeof(Row) == 64);

constexpr int kTokensPerRequest = 24;
constexpr int kInFlight = 1000;

std::vector<Session*> g_sessions;

__attribute__((noinline)) Token* parse_request(int request) {
  Token* head = nullptr;
  for (int i = 0; i < kTokensPerRequest; ++i) {
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

__attribute__((noinline)) Token* handle_request(int request) {
  Token* tokens = parse_request(request);
  if (request % 16 == 0) keep_session(request);
  if (request % 100 == 0) {
    volatile char* c = load_config(request);
    (void)c;
  }
  return tokens;
}

__attribute__((noinline)) long build_report(int rows) {
  Row* head = nullptr;
  for (int i = 0; i < rows; ++i) {
    Row* r = new Row;
    std::snprintf(r->cells, sizeof r->cells, "row %d", i);
    r->next = head;
    head = r;
  }
  long n = 0;
  while (head) {
    Row* next = head->next;
    delete head;
    head = next;
    ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::vector<Token*> in_flight(std::min(requests, kInFlight));

  // The first batch is parsed by a worker thread and released by main.
  std::thread worker([&] {
    for (size_t i = 0; i < in_flight.size(); ++i) in_flight[i] = handle_request(int(i));
  });
  worker.join();
  int next = static_cast<int>(in_flight.size());
  while (true) {
    for (Token*& t : in_flight) {
      release_tokens(t);
      t = nullptr;
    }
    if (next >= requests) break;
    for (size_t i = 0; i < in_flight.size() && next < requests; ++i) {
      in_flight[i] = handle_request(next++);
    }
  }
  long rows = build_report(requests);
  std::printf("served %d requests, %zu sessions kept, %ld report rows\n", requests,
              g_sessions.size(), rows);
  for (Session* s : g_sessions) delete s;  // sessions end; configs stay leaked
  return 0;
}
