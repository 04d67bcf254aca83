#include "analysis/model/stack_view.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/json_writer.h"
#include "base/status_macros.h"

namespace atr {
namespace {

bool IsRuntimeModule(std::string_view path) {
  std::string_view base = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  for (std::string_view lib : {"libc.so", "libc-", "libstdc++.so", "libgcc_s.so", "ld-linux",
                               "libm.so", "libpthread.so", "libatr_preload.so", "libjemalloc",
                               "libtcmalloc", "libmimalloc"}) {
    if (base.starts_with(lib)) return true;
  }
  return false;
}

bool IsRuntimeFunction(std::string_view f) {
  for (std::string_view prefix : {"std::", "__gnu_cxx::", "operator new", "operator delete",
                                  "__libc_", "__cxa_", "_dl_", "__GI_"}) {
    if (f.starts_with(prefix)) return true;
  }
  for (std::string_view name : {"malloc", "calloc", "realloc", "free", "posix_memalign",
                                "aligned_alloc", "memalign", "valloc", "strdup", "strndup"}) {
    if (f == name) return true;
  }
  return false;
}

}  // namespace

StackViews::StackViews(TraceReader* reader) : reader_(reader) {}
StackViews::~StackViews() = default;

absl::Status StackViews::LoadModules() {
  ATR_ASSIGN_OR_RETURN(std::vector<ModuleRow> modules, reader_->Modules());
  for (const ModuleRow& m : modules) module_paths_[m.id] = m.path;
  modules_loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<const StackView*> StackViews::Get(int64_t stack_id) {
  if (auto it = cache_.find(stack_id); it != cache_.end()) return it->second.get();
  if (!modules_loaded_) {
    ATR_RETURN_IF_ERROR(LoadModules());
  }
  ATR_ASSIGN_OR_RETURN(std::vector<const Frame*> frames, reader_->StackFrames(stack_id));
  auto view = std::make_unique<StackView>();
  view->id = stack_id;
  for (const Frame* f : frames) {
    std::string module;
    if (auto it = module_paths_.find(f->row.module_id); it != module_paths_.end()) module = it->second;
    bool runtime_module = IsRuntimeModule(module);
    auto add = [&](const std::optional<std::string>& fn, const std::optional<std::string>& file,
                   const std::optional<int32_t>& line, bool inlined) {
      StackLine l;
      l.function = fn.value_or("??");
      l.file = file.value_or("");
      l.line = line.value_or(0);
      l.module = module;
      l.rel_pc = f->row.rel_pc;
      l.inlined = inlined;
      // Standard-library templates inlined into user code carry short,
      // unqualified names ("allocate"): their headers give them away.
      l.runtime = runtime_module || IsRuntimeFunction(l.function) ||
                  l.file.starts_with("/usr/include/") || l.file.starts_with("/usr/lib/gcc/");
      view->lines.push_back(std::move(l));
    };
    // Innermost first: the frame's own symbol, then the calls it was
    // inlined into, outward.
    add(f->row.function, f->row.file, f->row.line, !f->inlined.empty());
    for (size_t i = 0; i < f->inlined.size(); ++i) {
      const InlineFrameRow& in = f->inlined[i];
      add(in.function, in.file, in.line, i + 1 < f->inlined.size());
    }
  }
  for (size_t i = 0; i < view->lines.size(); ++i) {
    if (!view->lines[i].runtime) {
      view->site_line = static_cast<int>(i);
      break;
    }
  }
  if (view->site_line < 0 && !view->lines.empty()) view->site_line = 0;
  if (view->site_line >= 0) view->site_label = LineLabel(view->lines[view->site_line]);
  const StackView* out = view.get();
  cache_[stack_id] = std::move(view);
  return out;
}

std::string LineLabel(const StackLine& l) {
  if (l.function == "??" && l.file.empty()) {
    std::string module = l.module.empty() ? "?" : l.module.substr(l.module.rfind('/') + 1);
    char off[32];
    std::snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(l.rel_pc));
    return module + off;
  }
  if (l.file.empty()) return l.function;
  return absl::StrCat(l.function, " ", ShortFile(l.file), ":", l.line);
}

void WriteStackJson(JsonWriter& j, const StackView& v) {
  j.BeginArray();
  for (const StackLine& l : v.lines) {
    j.BeginObject();
    j.Key("function").String(l.function);
    // Unknown is null, not "" or 0, so a consumer cannot take it for a value.
    j.Key("file");
    l.file.empty() ? j.Null() : j.String(l.file);
    j.Key("line");
    l.line == 0 ? j.Null() : j.Int(l.line);
    j.Key("module").String(l.module);
    j.Key("offset").Uint(l.rel_pc);
    j.Key("inlined").Bool(l.inlined);
    j.EndObject();
  }
  j.EndArray();
}

std::string RenderStackText(const StackView& v, const std::string& indent) {
  std::string out;
  for (size_t i = 0; i < v.lines.size(); ++i) {
    const StackLine& l = v.lines[i];
    absl::StrAppend(&out, indent, static_cast<int>(i) == v.site_line ? "> " : "  ", LineLabel(l));
    if (l.inlined) out += " (inlined)";
    out += '\n';
  }
  if (v.lines.empty()) absl::StrAppend(&out, indent, "  (no stack recorded)\n");
  return out;
}

}  // namespace atr
