// CIE/FDE parsing and CFA-program evaluation for x86-64 (see cfi.h).
#include "recorder/preload/unwind/cfi.h"

#include <cstring>

namespace atr::unwind {
namespace {

// DWARF register numbers (x86-64 psABI).
constexpr uint64_t kRegRbp = 6, kRegRsp = 7, kRegRip = 16;

// DW_EH_PE_* pointer encodings.
constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeIndirect = 0x80;
constexpr uint8_t kPePcrel = 0x10, kPeDatarel = 0x30;

// A bounded cursor over CFI bytes: every read past `end` fails the parse.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;

  bool Need(uint64_t n) {
    if (!ok || static_cast<uint64_t>(end - p) < n) ok = false;
    return ok;
  }
  template <typename T>
  T Fixed() {
    T v{};
    if (!Need(sizeof(T))) return v;
    memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  uint8_t U8() { return Fixed<uint8_t>(); }
  uint64_t Uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (!Need(1) || shift > 63) return ok = false, 0;
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
  }
  int64_t Sleb() {
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
      if (!Need(1) || shift > 63) return ok = false, 0;
      b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= ~uint64_t{0} << shift;
    return static_cast<int64_t>(v);
  }
  // An encoded pointer; `data_base` serves DW_EH_PE_datarel (the
  // .eh_frame_hdr start), 0 if not allowed here. Indirect pointers and
  // textrel/funcrel/aligned bases fail: no linker uses them in these tables.
  // !apply: only the stored value (a range, or a field being skipped).
  uint64_t Pointer(uint8_t enc, uint64_t data_base, bool apply = true) {
    if (enc == kPeOmit || (apply && (enc & kPeIndirect))) return ok = false, 0;
    auto field = reinterpret_cast<uint64_t>(p);
    uint64_t v;
    switch (enc & 0x0f) {
      case 0x00: v = Fixed<uint64_t>(); break;
      case 0x01: v = Uleb(); break;
      case 0x02: v = Fixed<uint16_t>(); break;
      case 0x03: v = Fixed<uint32_t>(); break;
      case 0x04: v = Fixed<uint64_t>(); break;
      case 0x09: v = static_cast<uint64_t>(Sleb()); break;
      case 0x0a: v = static_cast<uint64_t>(static_cast<int64_t>(Fixed<int16_t>())); break;
      case 0x0b: v = static_cast<uint64_t>(static_cast<int64_t>(Fixed<int32_t>())); break;
      case 0x0c: v = Fixed<uint64_t>(); break;
      default: return ok = false, 0;
    }
    if (!apply) return v;
    switch (enc & 0x70) {
      case 0x00: return v;
      case kPePcrel: return v + field;
      case kPeDatarel:
        if (data_base == 0) return ok = false, 0;
        return v + data_base;
      default: return ok = false, 0;
    }
  }
  void Skip(uint64_t n) {
    if (Need(n)) p += n;
  }
};

struct Cie {
  uint64_t code_align = 1;
  int64_t data_align = -8;
  uint64_t ra_reg = kRegRip;
  uint8_t fde_enc = 0;  // DW_EH_PE_absptr unless 'R' says otherwise
  bool has_aug_data = false;
  const uint8_t* insns = nullptr;
  const uint8_t* end = nullptr;
};

// Reads a CIE or FDE's length; sets `body` to the start of its id field and
// `end` past the entry. False on a terminator or a malformed length.
bool EntryBounds(const uint8_t* entry, const uint8_t** body, const uint8_t** end) {
  uint32_t len32;
  memcpy(&len32, entry, 4);
  if (len32 == 0) return false;
  if (len32 == 0xffffffffu) {
    uint64_t len64;
    memcpy(&len64, entry + 4, 8);
    *body = entry + 12;
    *end = *body + len64;
    return len64 >= 8;
  }
  *body = entry + 4;
  *end = *body + len32;
  return len32 >= 4;
}

bool ParseCie(const uint8_t* entry, bool is64, Cie* cie) {
  const uint8_t *body, *end;
  if (!EntryBounds(entry, &body, &end)) return false;
  Reader r{body, end};
  uint64_t id = is64 ? r.Fixed<uint64_t>() : r.Fixed<uint32_t>();
  if (id != 0) return false;  // in .eh_frame a CIE's id is 0
  uint8_t version = r.U8();
  if (version != 1 && version != 3 && version != 4) return false;
  const auto* aug = reinterpret_cast<const char*>(r.p);
  size_t aug_len = strnlen(aug, static_cast<size_t>(end - r.p));
  r.Skip(aug_len + 1);
  if (version == 4) r.Skip(2);  // address size, segment selector size
  cie->code_align = r.Uleb();
  cie->data_align = r.Sleb();
  cie->ra_reg = version == 1 ? r.U8() : r.Uleb();
  if (aug_len > 0) {
    if (aug[0] != 'z') return false;  // "eh" and friends: not for us
    uint64_t aug_data_len = r.Uleb();
    const uint8_t* aug_end = r.p + aug_data_len;
    for (size_t i = 1; i < aug_len && r.ok; ++i) {
      switch (aug[i]) {
        case 'L': r.U8(); break;
        case 'P': r.Pointer(r.U8(), 0, /*apply=*/false); break;
        case 'R': cie->fde_enc = r.U8(); break;
        case 'S': return false;  // signal frame: the context is elsewhere
        case 'B': case 'G': break;  // no data (AArch64 key / MTE tag)
        default: return false;
      }
    }
    if (!r.ok || aug_end > end) return false;
    r.p = aug_end;
    cie->has_aug_data = true;
  }
  cie->insns = r.p;
  cie->end = end;
  return r.ok;
}

// Where a register of interest is, per DWARF.
struct RegRule {
  enum Where : uint8_t { kSame, kUndefined, kCfaOffset, kOther };
  Where where = kSame;
  int64_t offset = 0;
};

struct State {
  uint64_t cfa_reg = kRegRsp;
  int64_t cfa_offset = 8;
  bool cfa_expr = false;
  RegRule rbp, rsp, rip;
};

RegRule* Tracked(State& s, uint64_t reg) {
  if (reg == kRegRbp) return &s.rbp;
  if (reg == kRegRsp) return &s.rsp;
  if (reg == kRegRip) return &s.rip;
  return nullptr;
}

// DW_CFA_restore: back to the CIE's rule. False inside the CIE itself.
bool Restore(State* s, const State* initial, uint64_t reg) {
  if (initial == nullptr) return false;
  if (RegRule* rr = Tracked(*s, reg)) *rr = *Tracked(const_cast<State&>(*initial), reg);
  return true;
}

constexpr int kMaxRememberDepth = 8;

// Runs one CFA program. Stops before the first row that starts above
// `target` (when `target` is 0, runs to the end: the CIE's initial
// instructions). False on anything this evaluator cannot describe.
bool Execute(Reader r, const Cie& cie, uint64_t loc, uint64_t target, const State* initial,
             State* s) {
  State stack[kMaxRememberDepth];
  int depth = 0;
  auto set = [s](uint64_t reg, RegRule::Where w, int64_t off) {
    if (RegRule* rr = Tracked(*s, reg)) *rr = {w, off};
  };
  while (r.ok && r.p < r.end) {
    uint8_t op = r.U8();
    uint8_t low = op & 0x3f;
    uint64_t advance = 0;
    switch (op >> 6) {
      case 1: advance = low; break;  // DW_CFA_advance_loc
      case 2:                        // DW_CFA_offset
        set(low, RegRule::kCfaOffset, static_cast<int64_t>(r.Uleb()) * cie.data_align);
        continue;
      case 3:  // DW_CFA_restore
        if (!Restore(s, initial, low)) return false;
        continue;
      default: break;
    }
    if (op >> 6 == 0) {
      switch (op) {
        case 0x00: break;  // nop
        case 0x01: {       // set_loc
          uint64_t to = r.Pointer(cie.fde_enc, 0);
          if (target != 0 && to > target) return r.ok;
          loc = to;
          break;
        }
        case 0x02: advance = r.U8(); break;
        case 0x03: advance = r.Fixed<uint16_t>(); break;
        case 0x04: advance = r.Fixed<uint32_t>(); break;
        case 0x05: {  // offset_extended
          uint64_t reg = r.Uleb();
          set(reg, RegRule::kCfaOffset, static_cast<int64_t>(r.Uleb()) * cie.data_align);
          break;
        }
        case 0x06:  // restore_extended
          if (!Restore(s, initial, r.Uleb())) return false;
          break;
        case 0x07: set(r.Uleb(), RegRule::kUndefined, 0); break;
        case 0x08: set(r.Uleb(), RegRule::kSame, 0); break;
        case 0x09: {  // register: value lives in another register
          uint64_t reg = r.Uleb();
          r.Uleb();
          set(reg, RegRule::kOther, 0);
          break;
        }
        case 0x0a:  // remember_state (CFA included, as libgcc and libunwind do)
          if (depth == kMaxRememberDepth) return false;
          stack[depth++] = *s;
          break;
        case 0x0b:  // restore_state
          if (depth == 0) return false;
          *s = stack[--depth];
          break;
        case 0x0c:  // def_cfa
          s->cfa_reg = r.Uleb();
          s->cfa_offset = static_cast<int64_t>(r.Uleb());
          s->cfa_expr = false;
          break;
        case 0x0d: s->cfa_reg = r.Uleb(); s->cfa_expr = false; break;
        case 0x0e: s->cfa_offset = static_cast<int64_t>(r.Uleb()); break;
        case 0x0f: s->cfa_expr = true; r.Skip(r.Uleb()); break;  // def_cfa_expression
        case 0x10:    // expression
        case 0x16: {  // val_expression
          uint64_t reg = r.Uleb();
          r.Skip(r.Uleb());
          set(reg, RegRule::kOther, 0);
          break;
        }
        case 0x11: {  // offset_extended_sf
          uint64_t reg = r.Uleb();
          set(reg, RegRule::kCfaOffset, r.Sleb() * cie.data_align);
          break;
        }
        case 0x12:  // def_cfa_sf
          s->cfa_reg = r.Uleb();
          s->cfa_offset = r.Sleb() * cie.data_align;
          s->cfa_expr = false;
          break;
        case 0x13: s->cfa_offset = r.Sleb() * cie.data_align; break;  // def_cfa_offset_sf
        case 0x14:    // val_offset
        case 0x15: {  // val_offset_sf
          uint64_t reg = r.Uleb();
          if (op == 0x14) r.Uleb(); else r.Sleb();
          set(reg, RegRule::kOther, 0);
          break;
        }
        case 0x2e: r.Uleb(); break;  // GNU_args_size: no effect on the CFA
        case 0x2f: {                 // GNU_negative_offset_extended
          uint64_t reg = r.Uleb();
          set(reg, RegRule::kCfaOffset, -static_cast<int64_t>(r.Uleb()) * cie.data_align);
          break;
        }
        default: return false;  // GNU_window_save, vendor opcodes...
      }
    }
    if (advance != 0) {
      uint64_t to = loc + advance * cie.code_align;
      if (target != 0 && to > target) return r.ok;
      loc = to;
    }
  }
  return r.ok;
}

// What libunwind's fast path also insists on (x86_64/Gstash_frame.c), so
// both unwinders agree on which frames are standard.
FrameRule Classify(const State& s) {
  FrameRule out;
  if (s.rip.where == RegRule::kUndefined || s.rbp.where == RegRule::kUndefined) {
    out.kind = FrameRule::kEndOfStack;
    return out;
  }
  if (s.cfa_expr || (s.cfa_reg != kRegRsp && s.cfa_reg != kRegRbp)) return out;
  if (s.cfa_offset < -(1 << 17) || s.cfa_offset >= (1 << 17)) return out;
  if (s.rip.where != RegRule::kCfaOffset || s.rip.offset != -8) return out;
  if (s.rsp.where == RegRule::kOther) return out;
  if (s.rsp.where == RegRule::kCfaOffset && s.rsp.offset != 0) return out;
  if (s.rbp.where == RegRule::kOther) return out;
  if (s.rbp.where == RegRule::kCfaOffset) {
    if (s.rbp.offset == 0 || s.rbp.offset % 8 != 0 || s.rbp.offset < -4096 ||
        s.rbp.offset >= 4096) {
      return out;
    }
    out.rbp_offset = static_cast<int32_t>(s.rbp.offset);
  }
  out.kind = FrameRule::kStandard;
  out.cfa_rbp = s.cfa_reg == kRegRbp;
  out.cfa_offset = static_cast<int32_t>(s.cfa_offset);
  return out;
}

}  // namespace

bool ParseEhFrameHdr(const uint8_t* hdr, EhFrameIndex* out) {
  if (hdr == nullptr || hdr[0] != 1) return false;
  uint8_t ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
  if (table_enc != (kPeDatarel | 0x0b)) return false;
  auto base = reinterpret_cast<uint64_t>(hdr);
  Reader r{hdr + 4, hdr + 4 + 32};
  r.Pointer(ptr_enc, base);  // .eh_frame itself: unused, FDEs come from the table
  uint64_t count = r.Pointer(count_enc, base);
  if (!r.ok) return false;
  out->hdr = hdr;
  out->table = reinterpret_cast<const int32_t*>(r.p);
  out->count = count;
  return true;
}

const uint8_t* FindFde(const EhFrameIndex& index, uint64_t pc) {
  if (index.count == 0) return nullptr;
  auto base = reinterpret_cast<int64_t>(index.hdr);
  int64_t rel = static_cast<int64_t>(pc) - base;
  // Last entry whose initial location is <= pc.
  uint64_t lo = 0, hi = index.count;
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (index.table[2 * mid] <= rel) lo = mid; else hi = mid;
  }
  if (index.table[2 * lo] > rel) return nullptr;
  return index.hdr + index.table[2 * lo + 1];
}

FrameRule RuleForPc(const uint8_t* fde, uint64_t pc) {
  FrameRule unsupported;
  const uint8_t *body, *end;
  if (fde == nullptr || !EntryBounds(fde, &body, &end)) return unsupported;
  bool is64 = body != fde + 4;
  Reader r{body, end};
  const uint8_t* id_field = r.p;
  uint64_t cie_delta = is64 ? r.Fixed<uint64_t>() : r.Fixed<uint32_t>();
  if (!r.ok || cie_delta == 0) return unsupported;  // a CIE, not an FDE
  Cie cie;
  if (!ParseCie(id_field - cie_delta, is64, &cie)) return unsupported;
  uint64_t begin = r.Pointer(cie.fde_enc, 0);
  uint64_t range = r.Pointer(cie.fde_enc & 0x0f, 0, /*apply=*/false);
  if (!r.ok) return unsupported;
  if (pc < begin || pc - begin >= range) {
    FrameRule no_fde;
    no_fde.kind = FrameRule::kNoFde;
    return no_fde;
  }
  if (cie.has_aug_data) r.Skip(r.Uleb());
  if (!r.ok || cie.ra_reg != kRegRip || cie.code_align == 0) return unsupported;

  State initial;
  if (!Execute(Reader{cie.insns, cie.end}, cie, 0, 0, nullptr, &initial)) return unsupported;
  State s = initial;
  // `target` 0 means "run to the end" in Execute; pc is never 0 here.
  if (!Execute(r, cie, begin, pc, &initial, &s)) return unsupported;
  return Classify(s);
}

}  // namespace atr::unwind
