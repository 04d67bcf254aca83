// Op codes of the events table: one per interposed call (and per half of a
// call that both releases and acquires). The numbers are part of the trace
// format (since schema version 1; docs/trace-format.md, "Versioning"):
// never renumber, only append.
//
// Header-only and dependency-free: the preload library includes it too.
//
//   if (atr::IsAcquisition(op)) ...           // malloc, new, mmap, ...
//   std::string_view name = atr::OpName(op);  // "malloc", "delete[] sized"
#ifndef ATR_DB_OPS_H_
#define ATR_DB_OPS_H_

#include <cstdint>
#include <string_view>

namespace atr {

enum class Op : uint8_t {
  // C allocation family. addr = returned pointer (0 = failed), size = bytes
  // requested, arg = alignment (aligned forms) or old pointer (realloc*).
  kMalloc = 1,
  kCalloc = 2,          // size = nmemb * size; arg = nmemb
  kRealloc = 3,         // acquisition half; arg = old pointer
  kReallocArray = 4,    // acquisition half; arg = old pointer
  kFree = 5,
  kPosixMemalign = 6,   // arg = alignment; failure: addr 0
  kAlignedAlloc = 7,
  kMemalign = 8,
  kValloc = 9,
  kPvalloc = 10,
  kReallocRelease = 11, // release half of realloc/reallocarray, numbered
                        // before the call; addr = old pointer. If the
                        // matching kRealloc failed (addr 0, size > 0) the
                        // old block stays live.
  // C++ operator new. size = bytes as the operator saw them.
  kNew = 20,
  kNewArray = 21,
  kNewNothrow = 22,
  kNewArrayNothrow = 23,
  kNewAligned = 24,           // arg = alignment
  kNewArrayAligned = 25,
  kNewAlignedNothrow = 26,
  kNewArrayAlignedNothrow = 27,
  // C++ operator delete. size = size argument of sized forms (else 0),
  // arg = alignment of aligned forms.
  kDelete = 30,
  kDeleteArray = 31,
  kDeleteSized = 32,
  kDeleteArraySized = 33,
  kDeleteAligned = 34,
  kDeleteArrayAligned = 35,
  kDeleteSizedAligned = 36,
  kDeleteArraySizedAligned = 37,
  kDeleteNothrow = 38,
  kDeleteArrayNothrow = 39,
  kDeleteAlignedNothrow = 40,
  kDeleteArrayAlignedNothrow = 41,
  // Address space. arg = flags word (see MapFlags below).
  kMmap = 50,            // addr = mapping, size = length
  kMunmap = 51,          // addr, size = range released
  kMremap = 52,          // acquisition half: addr = new, size = new length,
                         // arg = flags, old address in the release half
  kMremapRelease = 53,   // release half: addr = old address, size = old len
  kBrk = 54,             // addr = requested end, size = 0; arg = old end
  kSbrk = 55,            // addr = old break (start of new memory), size =
                         // increment (two's complement when shrinking)
  // Threads and processes. addr/size/arg as documented per op.
  kThreadStart = 60,     // tid = new thread; arg = creating thread
  kThreadExit = 61,
  kFork = 62,            // recorded in the parent; arg = child pid
  kExec = 63,            // recorded before the exec; recorded again as
                         // kProcessStart in the new image
  kPosixSpawn = 64,      // arg = child pid (0 on failure)
  kSystem = 65,          // arg = status returned
  kDlopen = 66,          // addr = handle (0 on failure)
  kDlclose = 67,         // addr = handle
  kProcessStart = 68,    // first event of every process (and exec'd image)
  kProcessExit = 69,     // arg = exit status as given to exit()
  kUntracedExec = 70,    // an exec that drops LD_PRELOAD (setuid, empty env)
  // Stack operations (--stack-ops, -finstrument-functions).
  kFuncEnter = 80,       // addr = function, arg = call site
  kFuncExit = 81,
};

inline constexpr int kOpCount = 256;

// Flags carried in `arg` of kMmap/kMremap events.
enum MapFlags : uint32_t {
  kMapAnonymous = 1u << 0,
  kMapFileBacked = 1u << 1,
  kMapShared = 1u << 2,
  kMapFixed = 1u << 3,
};

// What an op does to the heap: acquires a block, releases one, or neither.
enum class OpRole : uint8_t { kOther, kAcquire, kRelease };

// Which allocation family a block belongs to, for mismatch checks.
enum class Family : uint8_t { kNone, kMalloc, kNew, kNewArray, kMmap };

struct OpInfo {
  std::string_view name;  // empty: not an op code
  OpRole role;
  Family family;
};

constexpr OpInfo GetOpInfo(Op op) {
  using R = OpRole;
  using F = Family;
  switch (op) {
    case Op::kMalloc: return {"malloc", R::kAcquire, F::kMalloc};
    case Op::kCalloc: return {"calloc", R::kAcquire, F::kMalloc};
    case Op::kRealloc: return {"realloc", R::kAcquire, F::kMalloc};
    case Op::kReallocArray: return {"reallocarray", R::kAcquire, F::kMalloc};
    case Op::kFree: return {"free", R::kRelease, F::kMalloc};
    case Op::kPosixMemalign: return {"posix_memalign", R::kAcquire, F::kMalloc};
    case Op::kAlignedAlloc: return {"aligned_alloc", R::kAcquire, F::kMalloc};
    case Op::kMemalign: return {"memalign", R::kAcquire, F::kMalloc};
    case Op::kValloc: return {"valloc", R::kAcquire, F::kMalloc};
    case Op::kPvalloc: return {"pvalloc", R::kAcquire, F::kMalloc};
    case Op::kReallocRelease: return {"realloc_release", R::kRelease, F::kMalloc};
    case Op::kNew: return {"new", R::kAcquire, F::kNew};
    case Op::kNewArray: return {"new[]", R::kAcquire, F::kNewArray};
    case Op::kNewNothrow: return {"new nothrow", R::kAcquire, F::kNew};
    case Op::kNewArrayNothrow: return {"new[] nothrow", R::kAcquire, F::kNewArray};
    case Op::kNewAligned: return {"new aligned", R::kAcquire, F::kNew};
    case Op::kNewArrayAligned: return {"new[] aligned", R::kAcquire, F::kNewArray};
    case Op::kNewAlignedNothrow: return {"new aligned nothrow", R::kAcquire, F::kNew};
    case Op::kNewArrayAlignedNothrow:
      return {"new[] aligned nothrow", R::kAcquire, F::kNewArray};
    case Op::kDelete: return {"delete", R::kRelease, F::kNew};
    case Op::kDeleteArray: return {"delete[]", R::kRelease, F::kNewArray};
    case Op::kDeleteSized: return {"delete sized", R::kRelease, F::kNew};
    case Op::kDeleteArraySized: return {"delete[] sized", R::kRelease, F::kNewArray};
    case Op::kDeleteAligned: return {"delete aligned", R::kRelease, F::kNew};
    case Op::kDeleteArrayAligned: return {"delete[] aligned", R::kRelease, F::kNewArray};
    case Op::kDeleteSizedAligned: return {"delete sized aligned", R::kRelease, F::kNew};
    case Op::kDeleteArraySizedAligned:
      return {"delete[] sized aligned", R::kRelease, F::kNewArray};
    case Op::kDeleteNothrow: return {"delete nothrow", R::kRelease, F::kNew};
    case Op::kDeleteArrayNothrow: return {"delete[] nothrow", R::kRelease, F::kNewArray};
    case Op::kDeleteAlignedNothrow: return {"delete aligned nothrow", R::kRelease, F::kNew};
    case Op::kDeleteArrayAlignedNothrow:
      return {"delete[] aligned nothrow", R::kRelease, F::kNewArray};
    case Op::kMmap: return {"mmap", R::kAcquire, F::kMmap};
    case Op::kMunmap: return {"munmap", R::kRelease, F::kMmap};
    case Op::kMremap: return {"mremap", R::kAcquire, F::kMmap};
    case Op::kMremapRelease: return {"mremap_release", R::kRelease, F::kMmap};
    case Op::kBrk: return {"brk", R::kOther, F::kNone};
    case Op::kSbrk: return {"sbrk", R::kOther, F::kNone};
    case Op::kThreadStart: return {"thread_start", R::kOther, F::kNone};
    case Op::kThreadExit: return {"thread_exit", R::kOther, F::kNone};
    case Op::kFork: return {"fork", R::kOther, F::kNone};
    case Op::kExec: return {"exec", R::kOther, F::kNone};
    case Op::kPosixSpawn: return {"posix_spawn", R::kOther, F::kNone};
    case Op::kSystem: return {"system", R::kOther, F::kNone};
    case Op::kDlopen: return {"dlopen", R::kOther, F::kNone};
    case Op::kDlclose: return {"dlclose", R::kOther, F::kNone};
    case Op::kProcessStart: return {"process_start", R::kOther, F::kNone};
    case Op::kProcessExit: return {"process_exit", R::kOther, F::kNone};
    case Op::kUntracedExec: return {"untraced_exec", R::kOther, F::kNone};
    case Op::kFuncEnter: return {"func_enter", R::kOther, F::kNone};
    case Op::kFuncExit: return {"func_exit", R::kOther, F::kNone};
  }
  return {"", R::kOther, F::kNone};
}

constexpr std::string_view OpName(Op op) { return GetOpInfo(op).name; }
constexpr bool IsKnownOp(uint8_t code) { return !GetOpInfo(static_cast<Op>(code)).name.empty(); }
constexpr bool IsAcquisition(Op op) { return GetOpInfo(op).role == OpRole::kAcquire; }
constexpr bool IsRelease(Op op) { return GetOpInfo(op).role == OpRole::kRelease; }
// Heap ops are the malloc/new families (not mmap): what "allocations" pairs.
constexpr bool IsHeapOp(Op op) {
  Family f = GetOpInfo(op).family;
  return f == Family::kMalloc || f == Family::kNew || f == Family::kNewArray;
}

}  // namespace atr

#endif  // ATR_DB_OPS_H_
