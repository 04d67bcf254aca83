// DWARF call-frame information (.eh_frame / .eh_frame_hdr) reduced to what
// a table-driven x86-64 unwinder needs: for one pc, where the caller's frame
// starts (CFA = rsp or rbp plus an offset), where the caller's rbp is, and
// that the return address sits at CFA-8.
//
// Contract: pure functions over memory the caller vouches is mapped (a
// loaded module's .eh_frame_hdr and .eh_frame). No allocation, no locks, no
// libc calls: usable from libatr_preload.so's hooks. Anything outside the
// common x86-64 shapes (DWARF expressions, signal frames, registers saved in
// other registers, unknown opcodes or augmentations) yields kUnsupported so
// the caller can fall back to a full unwinder; a wrong rule is never
// produced knowingly.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_CFI_H_
#define ATR_RECORDER_PRELOAD_UNWIND_CFI_H_

#include <cstdint>

namespace atr::unwind {

// How to find the caller's registers at one pc.
struct FrameRule {
  enum Kind : uint8_t {
    kUnsupported = 0,  // not describable here: fall back
    kStandard = 1,     // caller's rsp = CFA, rip = [CFA-8], rbp below
    kEndOfStack = 2,   // rip (or rbp) undefined: the outermost frame
    kNoFde = 3,        // pc is outside the FDE's range (code without CFI)
  };
  Kind kind = kUnsupported;
  bool cfa_rbp = false;     // CFA = rbp + cfa_offset, else rsp + cfa_offset
  int32_t cfa_offset = 0;
  int32_t rbp_offset = 0;   // caller's rbp = [CFA + rbp_offset]; 0: unchanged
};

// A module's .eh_frame_hdr binary-search table (datarel sdata4 pairs).
struct EhFrameIndex {
  const uint8_t* hdr = nullptr;
  const int32_t* table = nullptr;  // {initial_loc, fde} relative to hdr
  uint64_t count = 0;
};

// Reads the header at `hdr`; false if its version or table encoding is not
// the one every GNU/LLVM linker writes (version 1, datarel|sdata4).
bool ParseEhFrameHdr(const uint8_t* hdr, EhFrameIndex* out);

// The FDE whose table entry is the last one starting at or below pc, or
// nullptr; RuleForPc checks pc against the FDE's range.
const uint8_t* FindFde(const EhFrameIndex& index, uint64_t pc);

// Evaluates the FDE's CIE and FDE programs up to `pc` (for a frame reached
// by a return, pass the return address minus one). kNoFde if pc is outside
// the FDE's range.
FrameRule RuleForPc(const uint8_t* fde, uint64_t pc);

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_CFI_H_
