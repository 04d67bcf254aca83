// Symbolizer: turns (module, return address) pairs into source locations.
//
// The collector's finishing step calls it once per distinct frame of the
// recorded stacks. It wraps llvm::symbolize::LLVMSymbolizer and adds what
// that lacks for us:
//   - a cache by (module, rel_pc); LLVM does not get faster on repeats
//     (3-17 us per address; docs/recorder.md, "Symbolization");
//   - per-module failure caching: a missing or unreadable module costs one
//     attempt and one error, later lookups in it fail fast with the same
//     status, and ModuleErrors() lists each failed module once;
//   - pseudo-modules ("", "[vdso]", "linux-vdso.so.1", ...) rejected
//     without touching the file system;
//   - no exceptions, no crashes: every failure is an absl::Status.
//
// Addresses are return addresses (what an unwinder reports), expressed as
// ELF virtual addresses of the module: rel_pc = pc - load bias (the bias of
// spool::ModuleRecord). A return address points at the instruction after
// the call, which may belong to the next source line or even to the next
// function when the call was the last instruction (noreturn callees), so
// the lookup is done at rel_pc - 1, inside the call instruction: the
// reported line is the line of the call.
//
// Usage:
//   atr::Symbolizer symbolizer;
//   absl::StatusOr<std::vector<atr::SymbolizedLocation>> frames =
//       symbolizer.Symbolize("/usr/lib/x86_64-linux-gnu/libfoo.so", 0x1234);
//   if (!frames.ok()) { /* print "??", report ModuleErrors() once at the end */ }
//   for (const atr::SymbolizedLocation& l : *frames)  // innermost first
//     printf("%s %s:%u\n", l.function.c_str(), l.file.c_str(), l.line);
//
// Thread-compatible, not thread-safe: one Symbolizer per thread, or
// external locking (LLVMSymbolizer itself is not thread-safe).
#ifndef ATR_RECORDER_SYMBOLIZER_H_
#define ATR_RECORDER_SYMBOLIZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llvm::symbolize {
class LLVMSymbolizer;
}  // namespace llvm::symbolize

namespace atr {

// One source location of a pc. Strings are empty and numbers 0 when unknown
// (e.g. a stripped module gives a function from its symbol table but no
// file or line).
struct SymbolizedLocation {
  std::string function;  // demangled, with parameters: "ns::Foo::bar(int)"
  std::string file;      // as in the debug info: absolute if the compile dir is
                         // (libc6-dbg has "./malloc/./malloc/malloc.c")
  uint32_t line = 0;     // 1-based
  uint32_t column = 0;   // 1-based

  friend bool operator==(const SymbolizedLocation&, const SymbolizedLocation&) = default;
};

class Symbolizer {
 public:
  struct Options {
    // Where separate debug files are looked up by build id and
    // .gnu_debuglink (Debian's *-dbgsym packages). Empty: /usr/lib/debug.
    std::vector<std::string> debug_file_directories;
  };

  // Monotonic counters, for the collector's summary and for tests.
  struct Stats {
    uint64_t lookups = 0;         // Symbolize() calls, SymbolizeAll() entries
    uint64_t cache_hits = 0;      // lookups answered from the cache
    uint64_t failures = 0;        // lookups that returned an error
    uint64_t modules_loaded = 0;  // modules LLVM parsed successfully
    uint64_t modules_failed = 0;  // modules that could not be used at all
  };

  Symbolizer();
  explicit Symbolizer(Options options);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Looks up the return address rel_pc (an ELF virtual address of
  // module_path; see the file comment for why rel_pc - 1 is looked up).
  // On success: at least one location, innermost (possibly inlined) first,
  // then each function it was inlined into, outward; the last entry is the
  // physical function containing the code.
  // Errors:
  //   InvalidArgument   empty path, pseudo-module ("[vdso]"...), rel_pc 0;
  //   NotFound          module missing, or nothing at all known about
  //                     the address (not in any symbol or debug info);
  //   PermissionDenied  module unreadable;
  //   FailedPrecondition module is not an object file LLVM can read.
  // Module-level errors are cached: later lookups in that module return
  // the same status without retrying.
  absl::StatusOr<std::vector<SymbolizedLocation>> Symbolize(const std::string& module_path,
                                                            uint64_t rel_pc);

  // Called by SymbolizeAll after each address with (done, total). Cheap
  // enough to be called every few microseconds: rate-limit the display.
  using ProgressCallback = absl::FunctionRef<void(size_t done, size_t total)>;

  // Symbolize() for each of rel_pcs, results in the same order. For the
  // collector's finishing step, which shows progress on a terminal.
  std::vector<absl::StatusOr<std::vector<SymbolizedLocation>>> SymbolizeAll(
      const std::string& module_path, std::span<const uint64_t> rel_pcs,
      ProgressCallback progress = [](size_t, size_t) {});

  // Each module that could not be used, once, with its error, in the order
  // the failures were seen. Report these instead of per-lookup errors.
  std::vector<std::pair<std::string, absl::Status>> ModuleErrors() const;

  const Stats& stats() const { return stats_; }

 private:
  using Result = absl::StatusOr<std::vector<SymbolizedLocation>>;

  struct Module {
    absl::Status error;  // set once the module failed
    // By rel_pc. Node-based: results never move once cached (and g++ 12
    // warns falsely about moving StatusOr<vector> slots in a flat map).
    absl::node_hash_map<uint64_t, Result> cache;
  };

  Result Lookup(const std::string& module_path, Module& module, uint64_t rel_pc);

  std::unique_ptr<llvm::symbolize::LLVMSymbolizer> llvm_;
  absl::flat_hash_map<std::string, Module> modules_;  // by path as given
  std::vector<std::string> failed_modules_;           // in failure order
  Stats stats_;
};

}  // namespace atr

#endif  // ATR_RECORDER_SYMBOLIZER_H_
