// Frame sizes: what each recorded frame's function puts on the stack, read
// from its machine code with Capstone (x86-64), for `atr stack`.
//
// For a frame (module, rel_pc), where rel_pc - 1 lies in the function (a
// return address, or a function entry + 1; recorder/collector/call_paths.h):
//   frame_size     bytes the function's prologue reserves below its return
//                  address: 8 per push plus `sub rsp, imm` (and `lea rsp,
//                  [rsp - imm]`), summed from the entry until the first
//                  jump, call or return (GCC interleaves prologue and body).
//                  A call chain's depth is the sum of (frame_size + 8).
//   dynamic_frame  the function also moves RSP by a register amount
//                  anywhere in its body (`sub rsp, reg`, `and rsp, imm`
//                  realignment): alloca, VLAs. Its frame can be larger.
//   call_insn      for return addresses: the call instruction that ends at
//                  rel_pc, found by decoding at rel_pc - 5, 6, 2, 3, 7, 4 and
//                  accepting a single call of exactly that length. nullopt
//                  for function entries and when none decodes.
// Functions are found through the module's ELF symbol tables (.symtab, else
// .dynsym); a pc in no sized function symbol gets no frame size.
//
//   ModuleCode code = ModuleCode::Open("/usr/bin/prog").value();
//   FrameShape s = code.Analyze(0x1189);  // s.frame_size, s.dynamic_frame
#ifndef ATR_RECORDER_COLLECTOR_FRAME_SIZES_H_
#define ATR_RECORDER_COLLECTOR_FRAME_SIZES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/trace_writer.h"

namespace atr {

class Collector;

struct FrameShape {
  std::optional<uint64_t> function_start;  // ELF address of the function
  std::optional<int32_t> frame_size;
  std::optional<bool> dynamic_frame;
  std::optional<std::string> call_insn;
};

// One ELF file's functions and code. Not thread-safe (one Capstone handle).
class ModuleCode {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ModuleCode>> Open(const std::string& path);
  ~ModuleCode();
  ModuleCode(const ModuleCode&) = delete;
  ModuleCode& operator=(const ModuleCode&) = delete;

  // REQUIRES: rel_pc >= 1 (see the file comment for the convention).
  FrameShape Analyze(uint64_t rel_pc);

  // The function symbol covering addr, if any: {start, size}.
  std::optional<std::pair<uint64_t, uint64_t>> FunctionAt(uint64_t addr) const;

 private:
  struct Impl;
  explicit ModuleCode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Fills frame_size, dynamic_frame and call_insn of every frame the
// collector saw (the finishing step calls it after symbolization). Modules
// that cannot be read are skipped (their frames keep NULLs).
absl::Status ComputeFrameSizes(TraceWriter& writer, const Collector& collector);

}  // namespace atr

#endif  // ATR_RECORDER_COLLECTOR_FRAME_SIZES_H_
