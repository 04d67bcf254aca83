// SiteScanner: finds the allocation sites of a C/C++ code base with clang's
// libTooling and AST matchers, from its compilation database.
//
// Every translation unit named in compile_commands.json is parsed (-j at a
// time, one clang instance per file, exactly like `clang -fsyntax-only`),
// and the code outside system headers is matched for: new / new[];
// malloc-family calls; std::make_unique / make_shared / allocate_shared;
// growth calls on standard containers; large local arrays, VLAs, alloca.
// Sites in headers are reported once however many TUs include them.
// Template code: see docs/sites.md ("Templates").
//
// Problems never stop the scan: a file that does not exist (often a
// generated one not built yet), a file with compile errors (its sites are
// still collected from what parsed), a command clang cannot run. Each one
// becomes a ScanProblem. Only an unusable compilation database is an error.
//
//   ATR_ASSIGN_OR_RETURN(atr::ScanResult r, atr::ScanCompilationDatabase("build/", {.jobs = 2}));
//   for (const atr::ScanProblem& p : r.problems) fprintf(stderr, "%s\n", p.message.c_str());
//
// This header has no clang types; site_scanner.cc is the only translation
// unit of atr that includes clang's headers.
#ifndef ATR_ANALYSIS_SITES_SITE_SCANNER_H_
#define ATR_ANALYSIS_SITES_SITE_SCANNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/sites/source_site.h"

namespace atr {

struct ScanOptions {
  int jobs = 1;                      // files parsed at once
  int64_t large_array_bytes = 1024;  // a local array this big is a kStackArray site
  // Only files whose path contains one of these (empty = every file).
  std::vector<std::string> only_files{};
  // Called (from worker threads, serialized) after each file: done, total, file.
  std::function<void(int, int, const std::string&)> progress{};
};

struct ScanProblem {
  std::string file;     // the translation unit (absolute)
  std::string message;  // one line: "src/broken.cc: 2 errors, first: 7:3: use of undeclared ..."
};

struct ScanResult {
  std::vector<SourceSite> sites;       // sorted by file, line, column, kind, function; no duplicates
  std::vector<ScanProblem> problems;   // sorted by file
  int files = 0;                       // translation units attempted
  int files_failed = 0;                // of which had errors or could not be parsed at all
  int files_skipped = 0;               // not C/C++ (assembly, ...) 
  std::string database;                // path of the compilation database read
  double seconds = 0;                  // wall time of the scan
};

// Loads BUILD_DIR/compile_commands.json (or the file itself when the path
// names it) and scans every C/C++ file it lists.
// Errors (one line): missing directory, no compile_commands.json, a database
// that does not parse, an empty database.
absl::StatusOr<ScanResult> ScanCompilationDatabase(const std::string& build_dir,
                                                   const ScanOptions& options);

// Scans one in-memory file (tests): clang::tooling::runToolOnCodeWithArgs
// with `args` (e.g. {"-std=c++20"}). Errors in the code become problems.
ScanResult ScanCode(const std::string& code, const std::vector<std::string>& args,
                    const std::string& filename = "/scan/input.cc",
                    const ScanOptions& options = {});

// The clang resource directory handed to every parse (-resource-dir): the
// one of the clang atr was built with, or $ATR_CLANG_RESOURCE_DIR.
std::string ClangResourceDir();

}  // namespace atr

#endif  // ATR_ANALYSIS_SITES_SITE_SCANNER_H_
