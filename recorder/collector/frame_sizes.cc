#include "recorder/collector/frame_sizes.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <capstone/capstone.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "recorder/collector/collector.h"

namespace atr {
namespace {

constexpr int kMaxPrologueInsns = 64;
constexpr uint64_t kMaxScanBytes = 1 << 16;  // dynamic-frame scan per function

struct Section {
  uint64_t addr, size, offset;
};

bool IsRsp(x86_reg r) { return r == X86_REG_RSP; }

}  // namespace

struct ModuleCode::Impl {
  std::string path;
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  std::vector<Section> code;  // executable PROGBITS sections
  std::vector<std::pair<uint64_t, uint64_t>> functions;  // sorted {start, size}
  csh cs = 0;
  absl::flat_hash_map<uint64_t, FrameShape> by_function;  // cache by start

  ~Impl() {
    if (cs != 0) cs_close(&cs);
    if (data != nullptr) munmap(const_cast<uint8_t*>(data), bytes);
  }

  // Bytes of [addr, addr + n) if inside one code section; clipped to it.
  const uint8_t* Code(uint64_t addr, uint64_t* n) const {
    for (const Section& s : code) {
      if (addr >= s.addr && addr < s.addr + s.size) {
        *n = std::min<uint64_t>(*n, s.addr + s.size - addr);
        return data + s.offset + (addr - s.addr);
      }
    }
    *n = 0;
    return nullptr;
  }

  absl::Status Parse() {
    if (bytes < sizeof(Elf64_Ehdr)) return absl::FailedPreconditionError(path + ": not an ELF file");
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data);
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_machine != EM_X86_64) {
      return absl::FailedPreconditionError(path + ": not an x86-64 ELF file");
    }
    if (eh->e_shoff == 0 || eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) > bytes) {
      return absl::FailedPreconditionError(path + ": no section headers");
    }
    const auto* sh = reinterpret_cast<const Elf64_Shdr*>(data + eh->e_shoff);
    const Elf64_Shdr* symtab = nullptr;
    const Elf64_Shdr* dynsym = nullptr;
    for (int i = 0; i < eh->e_shnum; ++i) {
      const Elf64_Shdr& s = sh[i];
      if (s.sh_type == SHT_PROGBITS && (s.sh_flags & SHF_EXECINSTR) &&
          s.sh_offset + s.sh_size <= bytes) {
        code.push_back({s.sh_addr, s.sh_size, s.sh_offset});
      }
      if (s.sh_type == SHT_SYMTAB) symtab = &s;
      if (s.sh_type == SHT_DYNSYM) dynsym = &s;
    }
    for (const Elf64_Shdr* t : {symtab, dynsym}) {
      if (t == nullptr || t->sh_offset + t->sh_size > bytes || t->sh_entsize != sizeof(Elf64_Sym)) {
        continue;
      }
      const auto* syms = reinterpret_cast<const Elf64_Sym*>(data + t->sh_offset);
      for (size_t i = 0; i < t->sh_size / sizeof(Elf64_Sym); ++i) {
        const Elf64_Sym& y = syms[i];
        if (ELF64_ST_TYPE(y.st_info) != STT_FUNC || y.st_size == 0 || y.st_shndx == SHN_UNDEF) {
          continue;
        }
        functions.push_back({y.st_value, y.st_size});
      }
      if (!functions.empty()) break;  // .symtab is a superset of .dynsym
    }
    std::sort(functions.begin(), functions.end());
    functions.erase(std::unique(functions.begin(), functions.end(),
                                [](const auto& a, const auto& b) { return a.first == b.first; }),
                    functions.end());
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
      return absl::InternalError("capstone: cs_open failed");
    }
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    return absl::OkStatus();
  }

  FrameShape Function(uint64_t start, uint64_t size) {
    if (auto it = by_function.find(start); it != by_function.end()) return it->second;
    FrameShape shape;
    shape.function_start = start;
    uint64_t n = std::min(size, kMaxScanBytes);
    const uint8_t* p = Code(start, &n);
    if (p != nullptr) {
      cs_insn* insn = cs_malloc(cs);
      const uint8_t* code_p = p;
      size_t left = n;
      uint64_t addr = start;
      int64_t frame = 0;
      bool in_prologue = true;
      bool dynamic = false;
      int count = 0;
      while (cs_disasm_iter(cs, &code_p, &left, &addr, insn)) {
        ++count;
        const cs_x86& x = insn->detail->x86;
        bool writes_rsp_reg = x.op_count == 2 && x.operands[0].type == X86_OP_REG &&
                              IsRsp(x.operands[0].reg);
        if (in_prologue) {
          if (cs_insn_group(cs, insn, CS_GRP_JUMP) || cs_insn_group(cs, insn, CS_GRP_CALL) ||
              cs_insn_group(cs, insn, CS_GRP_RET) || count > kMaxPrologueInsns) {
            in_prologue = false;
          } else if (insn->id == X86_INS_PUSH) {
            frame += 8;
          } else if (insn->id == X86_INS_SUB && writes_rsp_reg &&
                     x.operands[1].type == X86_OP_IMM) {
            frame += x.operands[1].imm;
          } else if (insn->id == X86_INS_ADD && writes_rsp_reg &&
                     x.operands[1].type == X86_OP_IMM && x.operands[1].imm < 0) {
            frame += -x.operands[1].imm;
          } else if (insn->id == X86_INS_LEA && writes_rsp_reg &&
                     x.operands[1].type == X86_OP_MEM && x.operands[1].mem.base == X86_REG_RSP &&
                     x.operands[1].mem.index == X86_REG_INVALID && x.operands[1].mem.disp < 0) {
            frame += -x.operands[1].mem.disp;
          }
        }
        if (writes_rsp_reg && ((insn->id == X86_INS_SUB && x.operands[1].type == X86_OP_REG) ||
                               (insn->id == X86_INS_AND && x.operands[1].type == X86_OP_IMM))) {
          dynamic = true;
        }
      }
      cs_free(insn, 1);
      shape.frame_size = static_cast<int32_t>(frame);
      shape.dynamic_frame = dynamic;
    }
    by_function.emplace(start, shape);
    return shape;
  }

  std::optional<std::string> CallBefore(uint64_t ret) {
    static constexpr int kLengths[] = {5, 6, 2, 3, 7, 4};
    for (int len : kLengths) {
      if (ret < static_cast<uint64_t>(len)) continue;
      uint64_t n = static_cast<uint64_t>(len);
      const uint8_t* p = Code(ret - n, &n);
      if (p == nullptr || n != static_cast<uint64_t>(len)) continue;
      cs_insn* insn = nullptr;
      size_t got = cs_disasm(cs, p, n, ret - n, 1, &insn);
      std::optional<std::string> out;
      if (got == 1 && insn[0].size == static_cast<uint16_t>(len) &&
          cs_insn_group(cs, &insn[0], CS_GRP_CALL)) {
        out = absl::StrCat(insn[0].mnemonic, " ", insn[0].op_str);
      }
      if (got > 0) cs_free(insn, got);
      if (out) return out;
    }
    return std::nullopt;
  }
};

ModuleCode::ModuleCode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModuleCode::~ModuleCode() = default;

absl::StatusOr<std::unique_ptr<ModuleCode>> ModuleCode::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    return absl::FailedPreconditionError(path + ": empty or unreadable");
  }
  void* m = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return absl::InternalError(absl::StrCat(path, ": mmap: ", strerror(errno)));
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->data = static_cast<const uint8_t*>(m);
  impl->bytes = static_cast<size_t>(st.st_size);
  if (absl::Status s = impl->Parse(); !s.ok()) return s;
  return std::unique_ptr<ModuleCode>(new ModuleCode(std::move(impl)));
}

std::optional<std::pair<uint64_t, uint64_t>> ModuleCode::FunctionAt(uint64_t addr) const {
  const auto& f = impl_->functions;
  auto it = std::upper_bound(f.begin(), f.end(), std::make_pair(addr, UINT64_MAX));
  if (it == f.begin()) return std::nullopt;
  --it;
  if (addr >= it->first + it->second) return std::nullopt;
  return *it;
}

FrameShape ModuleCode::Analyze(uint64_t rel_pc) {
  FrameShape shape;
  if (rel_pc == 0) return shape;
  std::optional<std::pair<uint64_t, uint64_t>> fn = FunctionAt(rel_pc - 1);
  if (fn) shape = impl_->Function(fn->first, fn->second);
  // A function entry (+1) is no return address: no call precedes it.
  if (!fn || fn->first != rel_pc - 1) shape.call_insn = impl_->CallBefore(rel_pc);
  return shape;
}

absl::Status ComputeFrameSizes(TraceWriter& writer, const Collector& collector) {
  for (const auto& [module, frames] : collector.frames_by_module()) {
    absl::StatusOr<std::unique_ptr<ModuleCode>> code =
        ModuleCode::Open(collector.module_path(module));
    if (!code.ok()) continue;  // vdso, deleted files, non-ELF: sizes stay unknown
    for (const FrameToSymbolize& f : frames) {
      FrameShape s = (*code)->Analyze(f.rel_pc);
      if (!s.frame_size && !s.call_insn) continue;
      FrameRow row{.id = f.id, .module_id = module, .rel_pc = f.rel_pc,
                   .frame_size = s.frame_size, .dynamic_frame = s.dynamic_frame,
                   .call_insn = s.call_insn};
      if (absl::Status st = writer.PutFrame(row); !st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace atr
