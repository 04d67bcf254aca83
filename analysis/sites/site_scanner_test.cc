// The scanner on in-memory code (ScanCode: clang::tooling::runToolOnCodeWithArgs)
// and on small compilation databases written to a temp dir. Most snippets
// declare what they need instead of including the standard library, so a
// parse takes milliseconds; one test includes the real containers.
#include "analysis/sites/site_scanner.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace atr {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kCxx = {"-std=c++20"};

std::vector<SourceSite> OfKind(const ScanResult& r, SiteKind kind) {
  std::vector<SourceSite> out;
  for (const SourceSite& s : r.sites) {
    if (s.kind == kind) out.push_back(s);
  }
  return out;
}

const SourceSite* AtLine(const ScanResult& r, int line, SiteKind kind) {
  for (const SourceSite& s : r.sites) {
    if (s.line == line && s.kind == kind) return &s;
  }
  return nullptr;
}

std::string Describe(const ScanResult& r) {
  std::string out;
  for (const SourceSite& s : r.sites) {
    out += std::to_string(s.line) + " " + std::string(SiteKindName(s.kind)) + " '" + s.type + "' " +
           s.function + " " + std::string(SiteTemplateName(s.templ)) + "\n";
  }
  for (const ScanProblem& p : r.problems) out += "problem: " + p.message + "\n";
  return out;
}

TEST(SiteScannerTest, NewAndNewArrayWithTypeAndSize) {
  ScanResult r = ScanCode(R"cc(#include <new>
namespace srv {
struct Session { long id; char user[160]; long last_seen; long flags; };
struct Packet { char data[64]; ~Packet(); };
class Server {
 public:
  Session* accept_loop(int n) {
    Session* s = nullptr;
    for (int i = 0; i < n; ++i)
      s = new Session{};
    return s;
  }
};
Packet* packets() { return new Packet[4]; }
char* bytes(int n) { return new char[n]; }
Session* placed(void* buf) { return new (buf) Session; }
Session* quiet() { return new (std::nothrow) Session; }
}  // namespace srv
)cc",
                          kCxx);
  ASSERT_TRUE(r.problems.empty()) << Describe(r);
  const SourceSite* s = AtLine(r, 10, SiteKind::kNew);
  ASSERT_NE(s, nullptr) << Describe(r);
  EXPECT_EQ(s->type, "Session");
  EXPECT_EQ(s->type_size, 184);
  EXPECT_EQ(s->bytes, 184);
  EXPECT_TRUE(s->in_loop);
  EXPECT_EQ(s->function, "srv::Server::accept_loop");
  EXPECT_EQ(s->function_line, 7);
  EXPECT_EQ(s->function_end_line, 12);
  EXPECT_EQ(s->column, 11);
  EXPECT_EQ(s->file, "/scan/input.cc");

  const SourceSite* p = AtLine(r, 14, SiteKind::kNewArray);
  ASSERT_NE(p, nullptr) << Describe(r);
  EXPECT_EQ(p->type, "Packet");
  EXPECT_EQ(p->type_size, 64);
  EXPECT_EQ(p->bytes, 4 * 64 + 8);  // the array cookie of a type with a destructor
  EXPECT_FALSE(p->in_loop);

  const SourceSite* c = AtLine(r, 15, SiteKind::kNewArray);
  ASSERT_NE(c, nullptr) << Describe(r);
  EXPECT_EQ(c->type, "char");
  EXPECT_FALSE(c->bytes.has_value());

  EXPECT_EQ(AtLine(r, 16, SiteKind::kNew), nullptr) << "placement new does not allocate";
  EXPECT_NE(AtLine(r, 17, SiteKind::kNew), nullptr) << "nothrow new allocates";
}

TEST(SiteScannerTest, MallocFamilyTypeFromCastOrSizeof) {
  ScanResult r = ScanCode(R"cc(extern "C" {
void* malloc(unsigned long);
void* calloc(unsigned long, unsigned long);
void* realloc(void*, unsigned long);
int posix_memalign(void**, unsigned long, unsigned long);
void* aligned_alloc(unsigned long, unsigned long);
char* strdup(const char*);
}
struct Buf { long len; char data[32]; };
struct Entry { long key, value; };
Buf* a() { return (Buf*)malloc(sizeof(Buf)); }
Entry* b(int n) { return static_cast<Entry*>(calloc(n, sizeof(Entry))); }
void* c() { return calloc(16, sizeof(Entry)); }
char* d(char* p) { return static_cast<char*>(realloc(p, 300)); }
void* e() { return malloc(200); }
Buf* f() { Buf* b = nullptr; posix_memalign((void**)&b, 64, sizeof(Buf)); return b; }
void* g() { return aligned_alloc(64, 4096); }
char* h(const char* s) { return strdup(s); }
)cc",
                          kCxx);
  ASSERT_TRUE(r.problems.empty()) << Describe(r);
  const SourceSite* a = AtLine(r, 11, SiteKind::kMalloc);
  ASSERT_NE(a, nullptr) << Describe(r);
  EXPECT_EQ(a->type, "Buf");
  EXPECT_EQ(a->type_size, 40);
  EXPECT_EQ(a->bytes, 40);
  const SourceSite* b = AtLine(r, 12, SiteKind::kCalloc);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, "Entry");
  EXPECT_FALSE(b->bytes.has_value());
  const SourceSite* c = AtLine(r, 13, SiteKind::kCalloc);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, "Entry");
  EXPECT_EQ(c->bytes, 16 * 16);
  const SourceSite* d = AtLine(r, 14, SiteKind::kRealloc);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, "char");
  EXPECT_EQ(d->bytes, 300);
  const SourceSite* e = AtLine(r, 15, SiteKind::kMalloc);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type, "");
  EXPECT_EQ(e->bytes, 200);
  const SourceSite* f = AtLine(r, 16, SiteKind::kPosixMemalign);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, "Buf");
  const SourceSite* g = AtLine(r, 17, SiteKind::kAlignedAlloc);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->bytes, 4096);
  const SourceSite* h = AtLine(r, 18, SiteKind::kMalloc);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->detail, "strdup");
  EXPECT_EQ(h->type, "char");
}

TEST(SiteScannerTest, CFileImplicitConversionGivesType) {
  ScanResult r = ScanCode(R"c(#include <stdlib.h>
struct Buf { long len; char data[32]; };
struct Buf* make(void) {
  struct Buf* b = malloc(sizeof *b);
  return b;
}
)c",
                          {}, "/scan/buffers.c");
  ASSERT_TRUE(r.problems.empty()) << Describe(r);
  const SourceSite* s = AtLine(r, 4, SiteKind::kMalloc);
  ASSERT_NE(s, nullptr) << Describe(r);
  EXPECT_EQ(s->type, "Buf");
  EXPECT_EQ(s->type_size, 40);
  EXPECT_EQ(s->function, "make");
}

// The template-heavy file: real standard containers and smart pointers,
// a function template, a class template, a lambda.
TEST(SiteScannerTest, TemplateHeavyFile) {
  ScanResult r = ScanCode(R"cc(#include <map>
#include <memory>
#include <string>
#include <vector>
struct Item { long key, value, stamp; };
struct Config { long values[12]; };
template <typename T> T* create_one() { return new T(); }
template <typename T> struct Pool {
  struct Node { T value; Node* next; };
  Node* add() { return new Node; }
  char* raw() { return new char[16]; }
};
void use() {
  create_one<Item>();
  create_one<Config>();
  Pool<int> p; p.add(); p.raw();
  Pool<Item> q; q.add(); q.raw();
  std::vector<Item> items;
  for (int i = 0; i < 3; ++i) items.push_back(Item{i, i, i});
  items.reserve(100);
  std::map<std::string, long> index;
  index["k"] = 1;
  std::string log;
  log.append(200, 'x');
  log += "more";
  auto c = std::make_unique<Config>();
  auto s = std::make_shared<Item>();
  auto many = std::make_unique<Item[]>(8);
  auto f = [] { return new Config; };
  f();
}
)cc",
                          kCxx);
  ASSERT_TRUE(r.problems.empty()) << Describe(r);

  // create_one<T>: the pattern ("T", size unknown) and one site per
  // instantiation, named with its template arguments.
  std::vector<SourceSite> at7;
  for (const SourceSite& s : r.sites) {
    if (s.line == 7) at7.push_back(s);
  }
  ASSERT_EQ(at7.size(), 3u) << Describe(r);
  EXPECT_EQ(at7[0].templ, SiteTemplate::kPattern);
  EXPECT_EQ(at7[0].type, "T");
  EXPECT_FALSE(at7[0].type_size.has_value());
  EXPECT_EQ(at7[1].function, "create_one<Config>");
  EXPECT_EQ(at7[1].type, "Config");
  EXPECT_EQ(at7[1].type_size, 96);
  EXPECT_EQ(at7[2].function, "create_one<Item>");
  EXPECT_EQ(at7[2].type_size, 24);
  EXPECT_EQ(at7[2].templ, SiteTemplate::kInstantiation);

  // Pool<T>::add allocates Pool<T>::Node: dependent, so per instantiation;
  // Pool<T>::raw allocates char whatever T is: the pattern alone.
  int add_sites = 0, raw_sites = 0;
  for (const SourceSite& s : r.sites) {
    if (s.line == 10) ++add_sites;
    if (s.line == 11) {
      ++raw_sites;
      EXPECT_EQ(s.templ, SiteTemplate::kPattern);
      EXPECT_EQ(s.type, "char");
    }
  }
  EXPECT_EQ(add_sites, 3) << Describe(r);  // pattern + Pool<int> + Pool<Item>
  EXPECT_EQ(raw_sites, 1) << Describe(r);

  const SourceSite* push = AtLine(r, 19, SiteKind::kContainerGrowth);
  ASSERT_NE(push, nullptr) << Describe(r);
  EXPECT_EQ(push->type, "Item");
  EXPECT_EQ(push->type_size, 24);
  EXPECT_EQ(push->detail, "std::vector<Item>::push_back");
  EXPECT_TRUE(push->in_loop);
  const SourceSite* reserve = AtLine(r, 20, SiteKind::kContainerGrowth);
  ASSERT_NE(reserve, nullptr);
  EXPECT_EQ(reserve->bytes, 2400);
  const SourceSite* map = AtLine(r, 22, SiteKind::kContainerGrowth);
  ASSERT_NE(map, nullptr) << Describe(r);
  EXPECT_THAT(map->detail, HasSubstr("::operator[]"));
  EXPECT_THAT(map->type, HasSubstr("std::pair<const std::"));
  const SourceSite* append = AtLine(r, 24, SiteKind::kContainerGrowth);
  ASSERT_NE(append, nullptr) << Describe(r);
  EXPECT_EQ(append->type, "char");
  EXPECT_NE(AtLine(r, 25, SiteKind::kContainerGrowth), nullptr) << "string +=";
  const SourceSite* mu = AtLine(r, 26, SiteKind::kMakeUnique);
  ASSERT_NE(mu, nullptr) << Describe(r);
  EXPECT_EQ(mu->type, "Config");
  EXPECT_EQ(mu->bytes, 96);
  const SourceSite* ms = AtLine(r, 27, SiteKind::kMakeShared);
  ASSERT_NE(ms, nullptr);
  EXPECT_EQ(ms->type, "Item");
  EXPECT_FALSE(ms->bytes.has_value());  // plus the control block
  const SourceSite* arr = AtLine(r, 28, SiteKind::kMakeUnique);
  ASSERT_NE(arr, nullptr);
  EXPECT_EQ(arr->type, "Item[]");
  EXPECT_EQ(arr->bytes, 8 * 24);
  const SourceSite* lambda = AtLine(r, 29, SiteKind::kNew);
  ASSERT_NE(lambda, nullptr);
  EXPECT_EQ(lambda->function, "use::{lambda}");

  // Nothing from inside the standard headers.
  for (const SourceSite& s : r.sites) EXPECT_EQ(s.file, "/scan/input.cc");
}

TEST(SiteScannerTest, StackArraysVlasAllocaAndFrameEstimate) {
  ScanResult r = ScanCode(R"cc(extern "C" void* memset(void*, int, unsigned long);
int work(int n) {
  char big[8192];
  char small[64];
  int vla[n];
  char* tmp = static_cast<char*>(__builtin_alloca(n));
  memset(big, 0, sizeof big);
  return big[n] + small[0] + vla[0] + tmp[0];
}
int tiny() { char b[16]; return b[0]; }
)cc",
                          {"-std=gnu++20"});
  ASSERT_TRUE(r.problems.empty()) << Describe(r);
  const SourceSite* big = AtLine(r, 3, SiteKind::kStackArray);
  ASSERT_NE(big, nullptr) << Describe(r);
  EXPECT_EQ(big->type, "char[8192]");
  EXPECT_EQ(big->bytes, 8192);
  EXPECT_EQ(AtLine(r, 4, SiteKind::kStackArray), nullptr) << "64 bytes is below the threshold";
  const SourceSite* vla = AtLine(r, 5, SiteKind::kVla);
  ASSERT_NE(vla, nullptr) << Describe(r);
  EXPECT_EQ(vla->type_size, 4);
  const SourceSite* a = AtLine(r, 6, SiteKind::kAlloca);
  ASSERT_NE(a, nullptr) << Describe(r);
  EXPECT_EQ(a->type, "char");
  std::vector<SourceSite> frames = OfKind(r, SiteKind::kStackFrame);
  ASSERT_EQ(frames.size(), 1u) << Describe(r);
  EXPECT_EQ(frames[0].function, "work");
  EXPECT_EQ(frames[0].line, 2);
  EXPECT_EQ(frames[0].function_end_line, 9);
  EXPECT_EQ(frames[0].type_size, 8192 + 64 + 8);  // big + small + tmp (the VLA is dynamic)
}

TEST(SiteScannerTest, BrokenCodeIsAProblemAndTheRestIsScanned) {
  ScanResult r = ScanCode(R"cc(struct Session { long id; };
Session* before() { return new Session; }
void broken() { undeclared_function(); }
Session* after() { return new Session; }
)cc",
                          kCxx);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(r.problems[0].message, HasSubstr("undeclared_function"));
  EXPECT_THAT(r.problems[0].message, HasSubstr("input.cc:3:"));
  EXPECT_EQ(r.files_failed, 1);
  EXPECT_NE(AtLine(r, 2, SiteKind::kNew), nullptr) << Describe(r);
  EXPECT_NE(AtLine(r, 4, SiteKind::kNew), nullptr) << Describe(r);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/atr_sites_test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Entry(const TempDir& d, const std::string& file) {
  return "{\"directory\": \"" + d.path() + "\", \"command\": \"/usr/bin/g++ -std=c++20 -O2 -c " + file +
         " -o " + file + ".o\", \"file\": \"" + file + "\"}";
}

TEST(SiteScannerTest, DatabaseWithBrokenAndGeneratedFilesScansTheRest) {
  TempDir d;
  d.Write("src/session.h", "struct Session { long id; char user[32]; };\n");
  d.Write("src/good.cc", "#include \"session.h\"\nSession* a() { return new Session; }\n");
  d.Write("src/also_good.cc", "#include \"session.h\"\nSession* b() { return new Session[2]; }\n");
  d.Write("src/broken.cc", "#include \"session.h\"\nSession* c() { return new Sesion; }\n");
  d.Write("compile_commands.json",
          "[" + Entry(d, "src/good.cc") + "," + Entry(d, "src/broken.cc") + "," +
              Entry(d, "src/also_good.cc") + "," + Entry(d, "gen/schema.pb.cc") + "]");
  absl::StatusOr<ScanResult> r = ScanCompilationDatabase(d.path(), {.jobs = 2});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files, 4);
  EXPECT_EQ(r->files_failed, 2);
  ASSERT_EQ(r->problems.size(), 2u) << Describe(*r);
  EXPECT_THAT(r->problems[0].message, HasSubstr("gen/schema.pb.cc: file not found"));
  EXPECT_THAT(r->problems[1].message, HasSubstr("src/broken.cc: broken.cc:2:"));
  EXPECT_THAT(r->problems[1].message, HasSubstr("Sesion"));
  // broken.cc's `new Sesion` is kept as clang recovered it ("did you mean").
  ASSERT_EQ(r->sites.size(), 3u) << Describe(*r);
  EXPECT_EQ(r->sites[0].file, d.path() + "/src/also_good.cc");
  EXPECT_EQ(r->sites[0].kind, SiteKind::kNewArray);
  EXPECT_EQ(r->sites[1].file, d.path() + "/src/broken.cc");
  EXPECT_EQ(r->sites[2].file, d.path() + "/src/good.cc");
  EXPECT_EQ(r->sites[2].type_size, 40);
}

TEST(SiteScannerTest, MissingOrBrokenDatabaseIsOneLineError) {
  TempDir d;
  absl::StatusOr<ScanResult> none = ScanCompilationDatabase(d.path(), {});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("no compile_commands.json"));
  EXPECT_EQ(std::string(none.status().message()).find('\n'), std::string::npos);

  absl::StatusOr<ScanResult> missing = ScanCompilationDatabase(d.path() + "/nope", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("no such directory"));

  d.Write("compile_commands.json", "[{\"directory\": \"/x\", \"file\": ");
  absl::StatusOr<ScanResult> broken = ScanCompilationDatabase(d.path(), {});
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr("not a usable compilation database"));
  EXPECT_EQ(std::string(broken.status().message()).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace atr
