// StackView: a recorded call stack as reports show it — symbolized frames,
// inlined calls expanded, and the allocation *site*.
//
// The site of a stack is its innermost frame that is not inside the
// allocator, the C/C++ runtime or atr itself (libc, libstdc++, libgcc,
// the dynamic loader, std:: and __gnu_cxx:: templates inlined into user
// code). When every frame is runtime, the innermost frame is the site.
//
//   StackViews views(&reader);
//   ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(stack_id));
//   puts(v->site_label.c_str());   // "load_config(int) session_server.cc:67"
#ifndef ATR_ANALYSIS_MODEL_STACK_VIEW_H_
#define ATR_ANALYSIS_MODEL_STACK_VIEW_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/short_file.h"  // ShortFile, used with LineLabel
#include "db/trace_reader.h"

namespace atr {

class JsonWriter;

// One line of a rendered stack: a physical frame or a call inlined into it.
struct StackLine {
  std::string function;  // demangled; "??" when unknown
  std::string file;      // as in the debug info; empty when unknown
  int32_t line = 0;      // 0 when unknown
  std::string module;    // path of the object file; empty when none
  uint64_t rel_pc = 0;   // ELF address (of the physical frame)
  bool inlined = false;  // this call was inlined into the next line's function
  bool runtime = false;  // inside allocator / C/C++ runtime / atr
};

struct StackView {
  int64_t id = 0;
  std::vector<StackLine> lines;  // innermost first
  int site_line = -1;            // index into lines; -1 for the empty stack
  std::string site_label;        // "function file:line", or "module+0xoff"
};

class StackViews {
 public:
  explicit StackViews(TraceReader* reader);
  ~StackViews();
  absl::StatusOr<const StackView*> Get(int64_t stack_id);

 private:
  absl::Status LoadModules();
  TraceReader* reader_;
  bool modules_loaded_ = false;
  absl::flat_hash_map<int64_t, std::string> module_paths_;
  absl::flat_hash_map<int64_t, std::unique_ptr<StackView>> cache_;
};

// "function file:line" for a line, the file shortened by ShortFile.
std::string LineLabel(const StackLine& l);
// Writes a stack as a JSON array of frame objects (fields in docs/queries.md);
// an unknown file or line is null.
void WriteStackJson(JsonWriter& j, const StackView& v);
// Text rendering, one frame per line, indented.
std::string RenderStackText(const StackView& v, const std::string& indent);

}  // namespace atr

#endif  // ATR_ANALYSIS_MODEL_STACK_VIEW_H_
