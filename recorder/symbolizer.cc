#include "recorder/symbolizer.h"

#include <string_view>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "llvm/DebugInfo/DIContext.h"
#include "llvm/DebugInfo/Symbolize/Symbolize.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/Error.h"

namespace atr {
namespace {

// Names under which a loader or /proc/<pid>/maps reports mappings that have
// no file behind them (or a file we must not open: the vdso of the traced
// process is gone, ours may differ).
bool IsPseudoModule(std::string_view path) {
  return path.empty() || path.front() == '[' || path == "linux-vdso.so.1" ||
         path == "linux-gate.so.1";
}

absl::Status ModuleStatus(const std::string& path, std::error_code code,
                          const std::string& message) {
  std::string text = absl::StrCat("cannot symbolize in ", path, ": ", message);
  if (code == std::errc::no_such_file_or_directory) return absl::NotFoundError(text);
  if (code == std::errc::permission_denied) return absl::PermissionDeniedError(text);
  return absl::FailedPreconditionError(text);
}

// Takes the error out of `error` (which must be a failure) as a Status.
absl::Status ToStatus(const std::string& path, llvm::Error error) {
  std::error_code code;
  std::string message;
  llvm::handleAllErrors(std::move(error), [&](const llvm::ErrorInfoBase& info) {
    if (!message.empty()) message += "; ";
    message += info.message();
    if (!code) code = info.convertToErrorCode();
  });
  return ModuleStatus(path, code, message);
}

// LLVM marks unknown strings with "<invalid>"; we use empty strings.
std::string KnownOrEmpty(std::string value) {
  if (value == llvm::DILineInfo::BadString) return {};
  return value;
}

}  // namespace

Symbolizer::Symbolizer() : Symbolizer(Options{}) {}

Symbolizer::Symbolizer(Options options) {
  llvm::symbolize::LLVMSymbolizer::Options llvm_options;
  llvm_options.PrintFunctions = llvm::symbolize::FunctionNameKind::LinkageName;
  llvm_options.PathStyle = llvm::symbolize::FileLineInfoKind::AbsoluteFilePath;
  llvm_options.UseSymbolTable = true;  // names for code without debug info
  llvm_options.Demangle = true;
  llvm_options.RelativeAddresses = false;  // offsets are ELF virtual addresses
  llvm_options.DebugFileDirectory = std::move(options.debug_file_directories);
  llvm_ = std::make_unique<llvm::symbolize::LLVMSymbolizer>(llvm_options);
}

Symbolizer::~Symbolizer() = default;

absl::StatusOr<std::vector<SymbolizedLocation>> Symbolizer::Symbolize(
    const std::string& module_path, uint64_t rel_pc) {
  ++stats_.lookups;
  if (IsPseudoModule(module_path)) {
    ++stats_.failures;
    return absl::InvalidArgumentError(
        absl::StrCat("cannot symbolize in pseudo-module \"", module_path, "\""));
  }
  if (rel_pc == 0) {
    // 0 is no return address (end-of-stack markers), and 0 - 1 would wrap.
    ++stats_.failures;
    return absl::InvalidArgumentError(absl::StrCat("cannot symbolize address 0 in ", module_path));
  }
  Module& module = modules_[module_path];
  Result result = Lookup(module_path, module, rel_pc);
  if (!result.ok()) ++stats_.failures;
  return result;
}

Symbolizer::Result Symbolizer::Lookup(const std::string& module_path, Module& module,
                                      uint64_t rel_pc) {
  if (!module.error.ok()) {
    ++stats_.cache_hits;
    return module.error;
  }
  if (auto it = module.cache.find(rel_pc); it != module.cache.end()) {
    ++stats_.cache_hits;
    return it->second;
  }

  // The first lookup in a module is the one that loads it: an error here is
  // a module-level error (LLVM reports per-address problems as "<invalid>"
  // fields, not as errors).
  const bool first_lookup = module.cache.empty();
  llvm::Expected<llvm::DIInliningInfo> inlining = llvm_->symbolizeInlinedCode(
      module_path, {rel_pc - 1, llvm::object::SectionedAddress::UndefSection});
  if (!inlining) {
    module.error = ToStatus(module_path, inlining.takeError());
    module.cache.clear();
    failed_modules_.push_back(module_path);
    ++stats_.modules_failed;
    return module.error;
  }
  if (first_lookup) ++stats_.modules_loaded;

  std::vector<SymbolizedLocation> locations;
  locations.reserve(inlining->getNumberOfFrames());
  bool known = false;
  for (uint32_t i = 0; i < inlining->getNumberOfFrames(); ++i) {
    const llvm::DILineInfo& frame = inlining->getFrame(i);
    SymbolizedLocation& location = locations.emplace_back();
    location.function = KnownOrEmpty(frame.FunctionName);
    location.file = KnownOrEmpty(frame.FileName);
    location.line = frame.Line;
    location.column = frame.Column;
    known |= !location.function.empty() || !location.file.empty();
  }
  Result result = std::move(locations);
  if (!known) {
    result = absl::NotFoundError(
        absl::StrCat("no symbol or debug info covers 0x", absl::Hex(rel_pc), " in ", module_path));
  }
  return module.cache.emplace(rel_pc, std::move(result)).first->second;
}

std::vector<absl::StatusOr<std::vector<SymbolizedLocation>>> Symbolizer::SymbolizeAll(
    const std::string& module_path, std::span<const uint64_t> rel_pcs, ProgressCallback progress) {
  std::vector<Result> results;
  results.reserve(rel_pcs.size());
  for (size_t i = 0; i < rel_pcs.size(); ++i) {
    results.push_back(Symbolize(module_path, rel_pcs[i]));
    progress(i + 1, rel_pcs.size());
  }
  return results;
}

std::vector<std::pair<std::string, absl::Status>> Symbolizer::ModuleErrors() const {
  std::vector<std::pair<std::string, absl::Status>> errors;
  errors.reserve(failed_modules_.size());
  for (const std::string& path : failed_modules_) {
    errors.emplace_back(path, modules_.at(path).error);
  }
  return errors;
}

}  // namespace atr
