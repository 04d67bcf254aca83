// Frame sizes from Capstone, checked against an independent reading of
// objdump's disassembly of the stack_ops test program (tests/programs).
#include "recorder/collector/frame_sizes.h"

#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/e2e/run_command.h"

namespace atr {
namespace {

using ::atr::testing::ProgramPath;
using ::atr::testing::RunCommand;

struct ObjdumpFunction {
  uint64_t start = 0;
  int64_t prologue_bytes = 0;        // pushes * 8 + sub rsp, imm before the first branch
  bool sub_rsp_reg = false;          // anywhere in the function
  std::vector<std::pair<uint64_t, std::string>> calls;  // {return address, target text}
};

// objdump -d -M intel --disassemble=NAME: "  401136:\tpush   rbp"
ObjdumpFunction Objdump(const std::string& prog, const std::string& name) {
  testing::CommandResult r = RunCommand(
      {"objdump", "-d", "-M", "intel", "--no-show-raw-insn", "--disassemble=" + name, prog});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ObjdumpFunction f;
  bool in_prologue = true;
  std::vector<std::pair<uint64_t, std::string>> insns;  // address, text
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    if (parts.size() != 2) continue;
    absl::string_view addr = absl::StripAsciiWhitespace(parts[0]);
    if (!absl::ConsumeSuffix(&addr, ":")) continue;
    uint64_t a = 0;
    if (!absl::SimpleHexAtoi(addr, &a)) continue;
    insns.push_back({a, std::string(absl::StripAsciiWhitespace(parts[1]))});
  }
  for (size_t i = 0; i < insns.size(); ++i) {
    const std::string& t = insns[i].second;
    if (i == 0) f.start = insns[i].first;
    std::string mnem = t.substr(0, t.find(' '));
    if (mnem == "call" && i + 1 < insns.size()) f.calls.push_back({insns[i + 1].first, t});
    if (t.rfind("sub    rsp,", 0) == 0) {
      std::string v = t.substr(11);
      if (v.rfind("0x", 0) != 0) f.sub_rsp_reg = true;
    }
    if (!in_prologue) continue;
    if (mnem[0] == 'j' || mnem == "call" || mnem == "ret") {
      in_prologue = false;
    } else if (mnem == "push") {
      f.prologue_bytes += 8;
    } else if (t.rfind("sub    rsp,0x", 0) == 0) {
      f.prologue_bytes += std::strtoll(t.c_str() + 13, nullptr, 16);
    } else if (t.rfind("add    rsp,0xffffffff", 0) == 0) {  // add rsp, -128 (shorter encoding)
      f.prologue_bytes -= static_cast<int64_t>(std::strtoull(t.c_str() + 13, nullptr, 16));
    }
  }
  return f;
}

class FrameSizesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto code = ModuleCode::Open(prog_);
    ASSERT_TRUE(code.ok()) << code.status();
    code_ = std::move(*code);
  }
  std::string prog_ = ProgramPath("stack_ops");
  std::unique_ptr<ModuleCode> code_;
};

TEST_F(FrameSizesTest, PrologueSizesMatchObjdump) {
  for (const char* name : {"recurse", "big_frame", "use_alloca", "thread_recurse", "main"}) {
    SCOPED_TRACE(name);
    ObjdumpFunction o = Objdump(prog_, name);
    ASSERT_NE(o.start, 0u);
    FrameShape s = code_->Analyze(o.start + 1);  // the entry frame convention
    ASSERT_TRUE(s.frame_size.has_value());
    EXPECT_EQ(*s.frame_size, o.prologue_bytes);
    EXPECT_EQ(s.function_start, o.start);
    EXPECT_FALSE(s.call_insn.has_value());  // an entry is no return address
    EXPECT_EQ(s.dynamic_frame, o.sub_rsp_reg);
  }
  // The known frames: big_frame holds 8 KiB of locals, use_alloca is dynamic.
  EXPECT_GE(*code_->Analyze(Objdump(prog_, "big_frame").start + 1).frame_size, 8192);
  EXPECT_TRUE(*code_->Analyze(Objdump(prog_, "use_alloca").start + 1).dynamic_frame);
  EXPECT_FALSE(*code_->Analyze(Objdump(prog_, "recurse").start + 1).dynamic_frame);
}

TEST_F(FrameSizesTest, EveryReturnAddressNamesItsCall) {
  ObjdumpFunction o = Objdump(prog_, "big_frame");
  ASSERT_FALSE(o.calls.empty());
  for (const auto& [ret, text] : o.calls) {
    SCOPED_TRACE(text);
    FrameShape s = code_->Analyze(ret);
    ASSERT_TRUE(s.call_insn.has_value());
    EXPECT_EQ(s.call_insn->substr(0, 4), "call");
    EXPECT_EQ(s.function_start, o.start);
    // objdump prints "call   1139 <recurse>"; Capstone "call 0x1139".
    std::string target = text.substr(text.find_first_not_of(' ', 4));
    target = target.substr(0, target.find(' '));
    EXPECT_NE(s.call_insn->find(target), std::string::npos) << *s.call_insn;
  }
  // Not a return address: the second byte of the first instruction.
  EXPECT_FALSE(code_->Analyze(o.start + 2).call_insn.has_value());
}

TEST(ModuleCodeTest, ErrorsAreStatuses) {
  EXPECT_FALSE(ModuleCode::Open("/nonexistent/file").ok());
  EXPECT_FALSE(ModuleCode::Open("/etc/hostname").ok());
}

}  // namespace
}  // namespace atr
