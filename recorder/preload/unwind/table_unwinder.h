// Table-driven x86-64 stack walk: for each return address, the caller's
// frame is found from a compact rule (CFA = rsp/rbp + offset, return
// address at CFA-8, rbp saved at CFA+n or unchanged) derived once from the
// module's .eh_frame and then cached per address. This is what libunwind's
// x86-64 fast path (Gtrace.c) does, inline and without its fixed per-call
// cost (getcontext, cursor set-up, per-thread cache lookup via pthread keys).
//
// Contract:
//   - Walk() reads target memory only inside the given stack bounds, never
//     allocates, takes no locks and makes no system calls: safe in malloc
//     hooks and signal handlers.
//   - Frames it cannot describe exactly (no module or FDE for the pc, DWARF
//     expressions, signal trampolines, a CFA outside the stack) end the walk
//     with a status other than kOk; the caller then unwinds the event with a
//     full unwinder. A kOk result is what libunwind's unw_backtrace reports
//     for the same frames.
//   - Modules are registered by the owner of the module list (AddModule /
//     RemoveModule, one writer at a time); walks on other threads run
//     concurrently with registration and see each module either before or
//     after the change. Cached rules are dropped whenever a module goes away.
#ifndef ATR_RECORDER_PRELOAD_UNWIND_TABLE_UNWINDER_H_
#define ATR_RECORDER_PRELOAD_UNWIND_TABLE_UNWINDER_H_

#include <cstdint>

namespace atr::unwind {

// The registers a walk starts from.
struct Registers {
  uint64_t pc;   // an exact instruction address, unless return_address
  uint64_t sp;
  uint64_t rbp;
  bool return_address = false;  // pc is a return address (a caller's frame)
};

// The registers at this point of the calling function: pc is the address
// of the instruction after `lea`, where rsp and rbp are unchanged.
__attribute__((always_inline)) inline Registers CurrentRegisters() {
  Registers r;
  asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
               : "=r"(r.pc), "=r"(r.sp), "=r"(r.rbp));
  return r;
}

enum class WalkStatus : uint32_t {
  kOk = 0,
  kNoModule,      // a pc outside every registered module
  kNoFde,         // in a module, but no FDE covers it (PLT, hand-written asm)
  kUnsupported,   // an FDE this evaluator does not describe (see cfi.h)
  kOutsideStack,  // a CFA or saved slot outside [lo, hi), or no progress
};
inline constexpr uint32_t kWalkStatusCount = 5;

// Records start.pc, then the return address of each caller, innermost
// first, until the outermost frame (rip undefined in the CFI, or a return
// address below 0x4000) or `cap` entries. *depth is the number written
// (valid only when kOk).
WalkStatus Walk(const Registers& start, uint64_t stack_lo, uint64_t stack_hi, uint64_t* pcs,
                uint32_t cap, uint32_t* depth);

// Registers a module's executable range and its .eh_frame_hdr (nullptr if
// it has none: its pcs then fall back). Re-adding a known range is a no-op.
void AddModule(uint64_t lo, uint64_t hi, const uint8_t* eh_frame_hdr);
// Forgets the module at [lo, hi) and every cached rule.
void RemoveModule(uint64_t lo, uint64_t hi);

}  // namespace atr::unwind

#endif  // ATR_RECORDER_PRELOAD_UNWIND_TABLE_UNWINDER_H_
