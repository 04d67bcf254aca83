// CFA-program evaluation on hand-assembled CIEs and FDEs: each test writes
// the bytes a compiler would emit for one function shape and checks the
// rule at chosen pcs.
#include "recorder/preload/unwind/cfi.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace atr::unwind {
namespace {

// DW_CFA opcodes used below.
constexpr uint8_t kNop = 0x00, kAdvance1 = 0x02, kAdvance2 = 0x03, kAdvance4 = 0x04,
                  kUndefined = 0x07, kRememberState = 0x0a, kRestoreState = 0x0b,
                  kDefCfa = 0x0c, kDefCfaRegister = 0x0d, kDefCfaOffset = 0x0e,
                  kDefCfaExpression = 0x0f, kExpression = 0x10, kRegister = 0x09,
                  kArgsSize = 0x2e;
constexpr uint8_t AdvanceLoc(uint8_t delta) { return 0x40 | delta; }
constexpr uint8_t Offset(uint8_t reg) { return 0x80 | reg; }
constexpr uint8_t Restore(uint8_t reg) { return 0xc0 | reg; }
constexpr uint8_t kRbx = 3, kRbp = 6, kRsp = 7, kRip = 16;

// One .eh_frame image: a CIE (absolute 8-byte FDE pointers, "zR" or the
// augmentation given) and FDEs after it, all in one stable buffer.
class EhFrame {
 public:
  explicit EhFrame(const char* augmentation = "zR") {
    buf_.reserve(4096);  // FDE pointers handed out stay valid
    std::vector<uint8_t> body = {0, 0, 0, 0, 1};  // id 0, version 1
    for (const char* c = augmentation; *c; ++c) body.push_back(static_cast<uint8_t>(*c));
    body.push_back(0);
    body.insert(body.end(), {1, 0x78, kRip});  // code align 1, data align -8, ra
    body.insert(body.end(), {1, 0x00});        // aug data: FDE pointers absptr
    // Every x86-64 CIE: CFA = rsp+8, return address at CFA-8.
    body.insert(body.end(), {kDefCfa, kRsp, 8, Offset(kRip), 1});
    Append(body);
  }

  const uint8_t* Fde(uint64_t begin, uint64_t range, const std::vector<uint8_t>& insns) {
    size_t at = buf_.size();
    std::vector<uint8_t> body(4);
    uint32_t cie_delta = static_cast<uint32_t>(at + 4);  // from this field back to offset 0
    memcpy(body.data(), &cie_delta, 4);
    for (uint64_t v : {begin, range}) {
      uint8_t b[8];
      memcpy(b, &v, 8);
      body.insert(body.end(), b, b + 8);
    }
    body.push_back(0);  // no augmentation data
    body.insert(body.end(), insns.begin(), insns.end());
    Append(body);
    return buf_.data() + at;
  }

 private:
  void Append(const std::vector<uint8_t>& body) {
    uint32_t len = static_cast<uint32_t>(body.size());
    uint8_t l[4];
    memcpy(l, &len, 4);
    buf_.insert(buf_.end(), l, l + 4);
    buf_.insert(buf_.end(), body.begin(), body.end());
  }
  std::vector<uint8_t> buf_;
};

constexpr uint64_t kBegin = 0x401000;

void ExpectRule(FrameRule r, bool cfa_rbp, int cfa_offset, int rbp_offset) {
  EXPECT_EQ(r.kind, FrameRule::kStandard);
  EXPECT_EQ(r.cfa_rbp, cfa_rbp);
  EXPECT_EQ(r.cfa_offset, cfa_offset);
  EXPECT_EQ(r.rbp_offset, rbp_offset);
}

// push %rbp; mov %rsp,%rbp; ...; leave; ret  (with remember/restore state
// around an early return, as GCC emits).
TEST(Cfi, FramePointerPrologueAndEpilogue) {
  EhFrame eh;
  const uint8_t* fde = eh.Fde(kBegin, 0x40, {
      AdvanceLoc(1), kDefCfaOffset, 16, Offset(kRbp), 2,  // after push %rbp
      AdvanceLoc(3), kDefCfaRegister, kRbp,               // after mov %rsp,%rbp
      AdvanceLoc(10), kRememberState, kDefCfa, kRsp, 8,   // early leave at +14
      AdvanceLoc(1), kRestoreState,                       // body resumes at +15
      kAdvance1, 0x20, kDefCfa, kRsp, 8, Restore(kRbp),   // final leave at +47
  });
  ExpectRule(RuleForPc(fde, kBegin), false, 8, 0);
  ExpectRule(RuleForPc(fde, kBegin + 1), false, 16, -16);
  ExpectRule(RuleForPc(fde, kBegin + 3), false, 16, -16);
  ExpectRule(RuleForPc(fde, kBegin + 4), true, 16, -16);
  ExpectRule(RuleForPc(fde, kBegin + 14), false, 8, -16);
  ExpectRule(RuleForPc(fde, kBegin + 15), true, 16, -16);
  ExpectRule(RuleForPc(fde, kBegin + 46), true, 16, -16);
  ExpectRule(RuleForPc(fde, kBegin + 47), false, 8, 0);
}

// Frame-pointer-less code: pushes and a stack adjustment, rbp never saved.
TEST(Cfi, RspOnlyFrameWithLargeAdvances) {
  EhFrame eh;
  const uint8_t* fde = eh.Fde(kBegin, 0x20000, {
      AdvanceLoc(2), kDefCfaOffset, 16, Offset(kRbx), 2,  // push %rbx
      AdvanceLoc(7), kDefCfaOffset, 0xa0, 0x02,           // sub $0x110,%rsp (uleb 288)
      kAdvance2, 0x00, 0x01, kArgsSize, 16,               // +0x109: args size, no effect
      kAdvance4, 0x00, 0x00, 0x01, 0x00, kDefCfaOffset, 8,  // +0x10109
  });
  ExpectRule(RuleForPc(fde, kBegin + 1), false, 8, 0);
  ExpectRule(RuleForPc(fde, kBegin + 2), false, 16, 0);
  ExpectRule(RuleForPc(fde, kBegin + 9), false, 288, 0);
  ExpectRule(RuleForPc(fde, kBegin + 0x109), false, 288, 0);
  ExpectRule(RuleForPc(fde, kBegin + 0x10108), false, 288, 0);
  ExpectRule(RuleForPc(fde, kBegin + 0x10109), false, 8, 0);
}

TEST(Cfi, OutsideTheFdeRangeIsNoFde) {
  EhFrame eh;
  const uint8_t* fde = eh.Fde(kBegin, 0x10, {kNop});
  EXPECT_EQ(RuleForPc(fde, kBegin - 1).kind, FrameRule::kNoFde);
  EXPECT_EQ(RuleForPc(fde, kBegin + 0x10).kind, FrameRule::kNoFde);
  EXPECT_EQ(RuleForPc(fde, kBegin + 0xf).kind, FrameRule::kStandard);
}

TEST(Cfi, UndefinedReturnAddressOrRbpEndsTheStack) {
  EhFrame eh;
  const uint8_t* start = eh.Fde(kBegin, 0x10, {kUndefined, kRip});
  EXPECT_EQ(RuleForPc(start, kBegin + 4).kind, FrameRule::kEndOfStack);
  const uint8_t* thread_start = eh.Fde(kBegin + 0x10, 0x10, {AdvanceLoc(4), kUndefined, kRbp});
  EXPECT_EQ(RuleForPc(thread_start, kBegin + 0x13).kind, FrameRule::kStandard);
  EXPECT_EQ(RuleForPc(thread_start, kBegin + 0x14).kind, FrameRule::kEndOfStack);
}

// What the evaluator must refuse rather than guess.
TEST(Cfi, ExpressionsAndRegisterRulesAreUnsupported) {
  EhFrame eh;
  // CFA from an expression (PLT entries, realigned frames).
  const uint8_t* plt = eh.Fde(kBegin, 0x10, {AdvanceLoc(6), kDefCfaExpression, 2, 0x77, 0x08});
  EXPECT_EQ(RuleForPc(plt, kBegin).kind, FrameRule::kStandard);
  EXPECT_EQ(RuleForPc(plt, kBegin + 6).kind, FrameRule::kUnsupported);
  // rbp restored by an expression, or kept in another register.
  const uint8_t* rbp_expr = eh.Fde(kBegin, 0x10, {kExpression, kRbp, 2, 0x76, 0x00});
  EXPECT_EQ(RuleForPc(rbp_expr, kBegin).kind, FrameRule::kUnsupported);
  const uint8_t* rbp_reg = eh.Fde(kBegin, 0x10, {kRegister, kRbp, kRbx});
  EXPECT_EQ(RuleForPc(rbp_reg, kBegin).kind, FrameRule::kUnsupported);
  // An expression for a register the walk does not need is fine.
  const uint8_t* rbx_expr = eh.Fde(kBegin, 0x10, {kExpression, kRbx, 2, 0x76, 0x00});
  EXPECT_EQ(RuleForPc(rbx_expr, kBegin).kind, FrameRule::kStandard);
  // CFA from another register (stack realignment through r10).
  const uint8_t* r10 = eh.Fde(kBegin, 0x10, {kDefCfa, 10, 0});
  EXPECT_EQ(RuleForPc(r10, kBegin).kind, FrameRule::kUnsupported);
  // Unknown opcode.
  const uint8_t* unknown = eh.Fde(kBegin, 0x10, {0x3f});
  EXPECT_EQ(RuleForPc(unknown, kBegin).kind, FrameRule::kUnsupported);
  // restore_state without remember_state.
  const uint8_t* unbalanced = eh.Fde(kBegin, 0x10, {kRestoreState});
  EXPECT_EQ(RuleForPc(unbalanced, kBegin).kind, FrameRule::kUnsupported);
}

TEST(Cfi, SignalFrameAugmentationIsUnsupported) {
  EhFrame eh("zRS");
  const uint8_t* fde = eh.Fde(kBegin, 0x10, {kNop});
  EXPECT_EQ(RuleForPc(fde, kBegin).kind, FrameRule::kUnsupported);
}

TEST(Cfi, EhFrameHdrBinarySearch) {
  // version 1, eh_frame_ptr udata4, count udata4, table datarel sdata4.
  struct {
    uint8_t head[4] = {1, 0x03, 0x03, 0x3b};
    uint32_t eh_frame_ptr = 0;
    uint32_t count = 3;
    int32_t table[6] = {0x100, 0x1000, 0x200, 0x2000, 0x300, 0x3000};
  } hdr;
  EhFrameIndex index;
  ASSERT_TRUE(ParseEhFrameHdr(hdr.head, &index));
  EXPECT_EQ(index.count, 3u);
  auto base = reinterpret_cast<uint64_t>(hdr.head);
  auto fde_at = [&](uint64_t pc) { return reinterpret_cast<uint64_t>(FindFde(index, pc)); };
  EXPECT_EQ(fde_at(base + 0xff), 0u);
  EXPECT_EQ(fde_at(base + 0x100), base + 0x1000);
  EXPECT_EQ(fde_at(base + 0x2ff), base + 0x2000);
  EXPECT_EQ(fde_at(base + 0x5000), base + 0x3000);
  hdr.head[3] = 0x1b;  // pcrel table entries: not what linkers write
  EXPECT_FALSE(ParseEhFrameHdr(hdr.head, &index));
}

}  // namespace
}  // namespace atr::unwind
