// The only translation unit of atr that includes clang's headers (they are
// slow to compile): the AST matchers, the per-file clang run, the thread
// pool over the compilation database.
#include "analysis/sites/site_scanner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/AST/DeclTemplate.h"
#include "clang/AST/ExprCXX.h"
#include "clang/AST/ParentMapContext.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/ASTMatchers/ASTMatchFinder.h"
#include "clang/ASTMatchers/ASTMatchers.h"
#include "clang/Basic/Builtins.h"
#include "clang/Basic/Diagnostic.h"
#include "clang/Basic/SourceManager.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendAction.h"
#include "clang/Tooling/ArgumentsAdjusters.h"
#include "clang/Tooling/CompilationDatabase.h"
#include "clang/Tooling/JSONCompilationDatabase.h"
#include "clang/Tooling/Tooling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/VirtualFileSystem.h"

#ifndef ATR_CLANG_RESOURCE_DIR
#define ATR_CLANG_RESOURCE_DIR ""
#endif

namespace atr {
namespace {

using namespace clang;                 // NOLINT: matcher code reads badly without it
using namespace clang::ast_matchers;   // NOLINT

// ---------------------------------------------------------------------------
// Paths and names

std::string NormalizePath(llvm::StringRef file, llvm::StringRef directory) {
  llvm::SmallString<256> p(file);
  if (!llvm::sys::path::is_absolute(p) && !directory.empty()) {
    llvm::SmallString<256> d(directory);
    llvm::sys::path::append(d, p);
    p = d;
  }
  llvm::sys::path::remove_dots(p, /*remove_dot_dot=*/true);
  return std::string(p.str());
}

PrintingPolicy MakePolicy(const ASTContext& ctx) {
  PrintingPolicy pp(ctx.getLangOpts());
  // Not SuppressUnwrittenScope: in clang 14 it also drops the "std::" of
  // std::__cxx11::basic_string. Anonymous namespaces are erased below.
  pp.SuppressTagKeyword = true;
  pp.Bool = true;
  return pp;
}

void EraseAll(std::string& s, std::string_view what) {
  for (size_t p; (p = s.find(what)) != std::string::npos;) s.erase(p, what.size());
}

// A type as the code around it would name it: "Session" for demo::Session
// allocated in demo::accept_loop (`scope` = "demo::"), no
// "(anonymous namespace)::", no C tag keyword.
std::string TypeName(QualType t, const PrintingPolicy& pp, std::string_view scope = {}) {
  if (t.isNull()) return {};
  std::string s = t.getUnqualifiedType().getAsString(pp);
  EraseAll(s, "(anonymous namespace)::");
  for (std::string_view tag : {"struct ", "class ", "union ", "enum "}) {
    if (s.rfind(tag, 0) == 0) s.erase(0, tag.size());
  }
  if (!scope.empty() && s.size() > scope.size() && s.rfind(scope, 0) == 0) s.erase(0, scope.size());
  return s;
}

// "srv::" for a function in namespace srv (anonymous and inline namespaces
// are not written, so not counted).
std::string NamespacePrefix(const Decl* d) {
  std::string prefix;
  for (const DeclContext* dc = d->getDeclContext(); dc != nullptr; dc = dc->getParent()) {
    if (const auto* ns = dyn_cast<NamespaceDecl>(dc); ns != nullptr && !ns->isAnonymousNamespace() &&
                                                       !ns->isInline()) {
      prefix = ns->getName().str() + "::" + prefix;
    }
  }
  return prefix;
}

std::optional<int64_t> TypeSize(const ASTContext& ctx, QualType t) {
  if (t.isNull() || t->isDependentType() || t->isIncompleteType() || t->isVoidType() ||
      t->isFunctionType() || !t->isConstantSizeType()) {
    return std::nullopt;
  }
  return ctx.getTypeSizeInChars(t).getQuantity();
}

std::optional<int64_t> ConstantInt(const ASTContext& ctx, const Expr* e) {
  if (e == nullptr || e->isValueDependent() || e->isTypeDependent()) return std::nullopt;
  Expr::EvalResult r;
  if (!e->EvaluateAsInt(r, ctx)) return std::nullopt;
  return r.Val.getInt().getExtValue();
}

std::optional<int64_t> Multiply(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a || !b || *a < 0 || *b < 0) return std::nullopt;
  int64_t r = 0;
  if (__builtin_mul_overflow(*a, *b, &r)) return std::nullopt;
  return r;
}

// The function a site is in: a lambda is named after its enclosing function
// ("accept_loop::{lambda}"), like the demangler's "{lambda()#1}".
const FunctionDecl* EnclosingFunctionOf(const DeclContext* dc, bool* lambda) {
  for (; dc != nullptr; dc = dc->getParent()) {
    if (const auto* fd = dyn_cast<FunctionDecl>(dc)) {
      if (const auto* md = dyn_cast<CXXMethodDecl>(fd); md != nullptr && md->getParent()->isLambda()) {
        *lambda = true;
        continue;
      }
      return fd;
    }
  }
  return nullptr;
}

bool IsInInstantiation(const Decl* d) {
  for (const DeclContext* dc = d->getDeclContext(); ; dc = dc->getParent()) {
    if (const auto* fd = dyn_cast<FunctionDecl>(d); fd != nullptr && fd->isTemplateInstantiation()) {
      return true;
    }
    if (const auto* rd = dyn_cast<CXXRecordDecl>(d);
        rd != nullptr && rd->getTemplateSpecializationKind() != TSK_Undeclared &&
        rd->getTemplateSpecializationKind() != TSK_ExplicitSpecialization) {
      return true;
    }
    if (dc == nullptr || dc->isFileContext()) return false;
    d = cast<Decl>(dc);
  }
}

// Where a matched expression sits: its function, loop, the cast applied to
// its value (for malloc's result type).
struct ExprContext {
  const FunctionDecl* function = nullptr;  // nullptr at namespace scope (a global's initializer)
  bool lambda = false;
  bool in_loop = false;
  QualType cast_to;  // first pointer type the value is cast to, if any
};

ExprContext ContextOf(ASTContext& ctx, const Stmt* s) {
  ExprContext c;
  DynTypedNode node = DynTypedNode::create(*s);
  bool value_position = true;  // still walking through parens/casts of s itself
  for (int guard = 0; guard < 512; ++guard) {
    DynTypedNodeList parents = ctx.getParents(node);
    if (parents.empty()) break;
    // A node inside a lambda has two parents (the LambdaExpr and the call
    // operator); either way we leave through the lambda.
    DynTypedNode next = parents[0];
    for (const DynTypedNode& p : parents) {
      if (p.get<LambdaExpr>() != nullptr) next = p;
    }
    if (const auto* st = next.get<Stmt>()) {
      if (value_position) {
        if (const auto* cast = dyn_cast<CastExpr>(st)) {
          QualType t = cast->getType();
          if (c.cast_to.isNull() && t->isPointerType() && !t->getPointeeType()->isVoidType()) {
            c.cast_to = t->getPointeeType();
          }
        } else if (!isa<ParenExpr>(st)) {
          value_position = false;
        }
      }
      if (isa<ForStmt, WhileStmt, DoStmt, CXXForRangeStmt>(st) && !c.lambda) c.in_loop = true;
      if (const auto* le = dyn_cast<LambdaExpr>(st)) {
        c.lambda = true;
        bool ignored = false;
        c.function = EnclosingFunctionOf(le->getCallOperator()->getDeclContext(), &ignored);
        return c;
      }
    } else if (const auto* fd = next.get<FunctionDecl>()) {
      if (const auto* md = dyn_cast<CXXMethodDecl>(fd); md != nullptr && md->getParent()->isLambda()) {
        c.lambda = true;
        c.function = EnclosingFunctionOf(md->getParent()->getDeclContext(), &c.lambda);
        return c;
      }
      c.function = fd;
      return c;
    } else if (const auto* vd = next.get<VarDecl>()) {
      // "Foo* p = malloc(...)" in C: the implicit cast is the parent; past
      // the declaration the value is used no further.
      value_position = false;
      if (vd->getParentFunctionOrMethod() == nullptr) break;  // a global's initializer
    } else if (const auto* d = next.get<Decl>(); d != nullptr && isa<DeclContext>(d)) {
      break;  // a class (a default member initializer), a namespace: no function
    }
    node = next;
  }
  return c;
}

// The first sizeof(T) anywhere inside e: "malloc(n * sizeof(Item))".
QualType SizeofTypeIn(const Stmt* e) {
  if (e == nullptr) return {};
  if (const auto* u = dyn_cast<UnaryExprOrTypeTraitExpr>(e); u != nullptr && u->getKind() == UETT_SizeOf) {
    return u->getTypeOfArgument();
  }
  for (const Stmt* child : e->children()) {
    if (QualType t = SizeofTypeIn(child); !t.isNull()) return t;
  }
  return {};
}

// ---------------------------------------------------------------------------
// Matching

struct MallocFamily {
  const char* name;
  SiteKind kind;
  int size_arg;    // -1: no size argument
  int count_arg;   // calloc/reallocarray: the element count; -1 otherwise
};

constexpr MallocFamily kMallocFamily[] = {
    {"malloc", SiteKind::kMalloc, 0, -1},         {"calloc", SiteKind::kCalloc, 1, 0},
    {"realloc", SiteKind::kRealloc, 1, -1},       {"reallocarray", SiteKind::kRealloc, 2, 1},
    {"aligned_alloc", SiteKind::kAlignedAlloc, 1, -1},
    {"posix_memalign", SiteKind::kPosixMemalign, 2, -1},
    {"memalign", SiteKind::kAlignedAlloc, 1, -1}, {"valloc", SiteKind::kMalloc, 0, -1},
    {"pvalloc", SiteKind::kMalloc, 0, -1},        {"strdup", SiteKind::kMalloc, -1, -1},
    {"strndup", SiteKind::kMalloc, -1, -1},
};

const MallocFamily* FindMallocFamily(llvm::StringRef name) {
  for (const MallocFamily& f : kMallocFamily) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

class SiteCollector : public MatchFinder::MatchCallback {
 public:
  SiteCollector(std::string directory, const ScanOptions& options, std::vector<SourceSite>* out)
      : directory_(std::move(directory)), options_(options), out_(out) {}

  void run(const MatchFinder::MatchResult& r) override {
    ASTContext& ctx = *r.Context;
    if (const auto* e = r.Nodes.getNodeAs<CXXNewExpr>("new")) {
      OnNew(ctx, e);
    } else if (const auto* call = r.Nodes.getNodeAs<CallExpr>("malloc")) {
      OnMalloc(ctx, call, r.Nodes.getNodeAs<FunctionDecl>("malloc_fn"));
    } else if (const auto* call = r.Nodes.getNodeAs<CallExpr>("make")) {
      OnMake(ctx, call, r.Nodes.getNodeAs<FunctionDecl>("make_fn"));
    } else if (const auto* call = r.Nodes.getNodeAs<CallExpr>("grow")) {
      OnGrowth(ctx, call, r.Nodes.getNodeAs<CXXMethodDecl>("grow_method"));
    } else if (const auto* fd = r.Nodes.getNodeAs<FunctionDecl>("function")) {
      OnFunction(ctx, fd);
    }
  }

 private:
  // Fills location, function and template columns; false when the node is
  // somewhere we do not report (no file, system header).
  bool Locate(ASTContext& ctx, SourceRange range, const ExprContext& ec, SourceSite* s) {
    const SourceManager& sm = ctx.getSourceManager();
    SourceLocation begin = sm.getExpansionLoc(range.getBegin());
    SourceLocation end = sm.getExpansionLoc(range.getEnd());
    if (begin.isInvalid() || sm.isInSystemHeader(begin)) return false;
    scope_.clear();
    FileID fid = sm.getFileID(begin);
    const FileEntry* fe = sm.getFileEntryForID(fid);
    if (fe == nullptr) return false;  // <scratch space>, a macro's built-in buffer
    s->file = NormalizePath(fe->getName(), directory_);
    s->line = static_cast<int32_t>(sm.getExpansionLineNumber(begin));
    s->column = static_cast<int32_t>(sm.getExpansionColumnNumber(begin));
    s->end_line = std::max(s->line, static_cast<int32_t>(sm.getExpansionLineNumber(end)));
    s->in_loop = ec.in_loop;
    if (ec.function != nullptr) {
      std::string name;
      llvm::raw_string_ostream os(name);
      ec.function->getNameForDiagnostic(os, MakePolicy(ctx), /*Qualified=*/true);
      os.flush();
      EraseAll(name, "(anonymous namespace)::");
      s->function = ec.lambda ? name + "::{lambda}" : name;
      scope_ = NamespacePrefix(ec.function);
      SourceRange fr = ec.function->getSourceRange();
      s->function_line = static_cast<int32_t>(sm.getExpansionLineNumber(fr.getBegin()));
      s->function_end_line = static_cast<int32_t>(sm.getExpansionLineNumber(fr.getEnd()));
      if (ec.function->isDependentContext()) {
        s->templ = SiteTemplate::kPattern;
      } else if (IsInInstantiation(ec.function)) {
        s->templ = SiteTemplate::kInstantiation;
      }
    }
    return true;
  }

  void OnNew(ASTContext& ctx, const CXXNewExpr* e) {
    // Placement new into the caller's memory constructs, it does not allocate.
    if (e->getNumPlacementArgs() > 0 && e->getOperatorNew() != nullptr &&
        e->getOperatorNew()->isReservedGlobalPlacementOperator()) {
      return;
    }
    SourceSite s;
    if (!Locate(ctx, e->getSourceRange(), ContextOf(ctx, e), &s)) return;
    PrintingPolicy pp = MakePolicy(ctx);
    QualType t = e->getAllocatedType();
    s.kind = e->isArray() ? SiteKind::kNewArray : SiteKind::kNew;
    s.type = TypeName(t, pp, scope_);
    s.type_size = TypeSize(ctx, t);
    if (!e->isArray()) {
      s.bytes = s.type_size;
    } else if (llvm::Optional<const Expr*> n = e->getArraySize(); n && *n != nullptr) {
      s.bytes = Multiply(ConstantInt(ctx, *n), s.type_size);
      // Itanium ABI: new[] of a type with a destructor stores the count in
      // a cookie before the elements.
      if (s.bytes && t.isDestructedType() != QualType::DK_none) {
        s.bytes = *s.bytes + std::max<int64_t>(8, ctx.getTypeAlignInChars(t).getQuantity());
      }
    }
    if (e->getNumPlacementArgs() > 0) s.detail = "operator new with placement arguments";
    out_->push_back(std::move(s));
  }

  void OnMalloc(ASTContext& ctx, const CallExpr* call, const FunctionDecl* fn) {
    if (fn == nullptr) return;
    const MallocFamily* f = FindMallocFamily(fn->getName());
    if (f == nullptr) return;
    ExprContext ec = ContextOf(ctx, call);
    SourceSite s;
    if (!Locate(ctx, call->getSourceRange(), ec, &s)) return;
    s.kind = f->kind;
    s.detail = f->name;
    auto arg = [&](int i) -> const Expr* {
      return i >= 0 && static_cast<unsigned>(i) < call->getNumArgs() ? call->getArg(i) : nullptr;
    };
    QualType t = ec.cast_to;
    if (t.isNull() && f->kind == SiteKind::kPosixMemalign && arg(0) != nullptr) {
      // posix_memalign(&p, ...): the type p points to.
      const Expr* out = arg(0)->IgnoreParenCasts();
      if (const auto* u = dyn_cast<UnaryOperator>(out); u != nullptr && u->getOpcode() == UO_AddrOf) {
        QualType pt = u->getSubExpr()->IgnoreParenImpCasts()->getType();
        if (pt->isPointerType() && !pt->getPointeeType()->isVoidType()) t = pt->getPointeeType();
      }
    }
    if (t.isNull()) t = SizeofTypeIn(arg(f->size_arg));
    if (t.isNull()) t = SizeofTypeIn(arg(f->count_arg));
    if (t.isNull() && (s.detail == "strdup" || s.detail == "strndup")) t = ctx.CharTy;
    if (!t.isNull()) {
      s.type = TypeName(t, MakePolicy(ctx), scope_);
      s.type_size = TypeSize(ctx, t);
    }
    s.bytes = ConstantInt(ctx, arg(f->size_arg));
    if (f->count_arg >= 0) s.bytes = Multiply(ConstantInt(ctx, arg(f->count_arg)), s.bytes);
    out_->push_back(std::move(s));
  }

  void OnMake(ASTContext& ctx, const CallExpr* call, const FunctionDecl* fn) {
    if (fn == nullptr) return;
    const TemplateArgumentList* targs = fn->getTemplateSpecializationArgs();
    if (targs == nullptr || targs->size() == 0 || targs->get(0).getKind() != TemplateArgument::Type) return;
    SourceSite s;
    if (!Locate(ctx, call->getSourceRange(), ContextOf(ctx, call), &s)) return;
    llvm::StringRef name = fn->getName();
    s.kind = name.startswith("make_unique")  ? SiteKind::kMakeUnique
             : name.startswith("make_shared") ? SiteKind::kMakeShared
                                              : SiteKind::kAllocateShared;
    s.detail = std::string("std::") + name.str();
    QualType t = targs->get(0).getAsType();
    // make_unique<T[]>(n): the element type, n of them.
    if (const ArrayType* at = ctx.getAsArrayType(t)) {
      QualType elem = at->getElementType();
      s.type = TypeName(elem, MakePolicy(ctx), scope_) + "[]";
      s.type_size = TypeSize(ctx, elem);
      if (call->getNumArgs() > 0) s.bytes = Multiply(ConstantInt(ctx, call->getArg(0)), s.type_size);
    } else {
      s.type = TypeName(t, MakePolicy(ctx), scope_);
      s.type_size = TypeSize(ctx, t);
      // make_shared puts T and the control block in one allocation.
      if (s.kind == SiteKind::kMakeUnique) s.bytes = s.type_size;
    }
    out_->push_back(std::move(s));
  }

  void OnGrowth(ASTContext& ctx, const CallExpr* call, const CXXMethodDecl* md) {
    if (md == nullptr) return;
    const CXXRecordDecl* rd = md->getParent();
    llvm::StringRef container = rd->getName();
    std::string method = md->getNameAsString();
    bool is_map = container == "map" || container == "unordered_map";
    if (method == "operator[]" && !is_map) return;      // vector/string/deque [] does not grow
    if (method == "operator+=" && container != "basic_string") return;
    if (method == "append" && container != "basic_string") return;
    SourceSite s;
    if (!Locate(ctx, call->getSourceRange(), ContextOf(ctx, call), &s)) return;
    PrintingPolicy pp = MakePolicy(ctx);
    s.kind = SiteKind::kContainerGrowth;
    QualType container_type = ctx.getRecordType(rd);
    s.detail = TypeName(container_type, pp, scope_) + "::" + method;
    QualType elem;
    for (const NamedDecl* d : rd->lookup(&ctx.Idents.get("value_type"))) {
      // Canonical: the typedef chain reads "typename char_traits<char>::char_type".
      if (const auto* td = dyn_cast<TypedefNameDecl>(d)) elem = td->getUnderlyingType().getCanonicalType();
    }
    if (!elem.isNull()) {
      s.type = TypeName(elem, pp, scope_);
      s.type_size = TypeSize(ctx, elem);
    }
    if ((method == "reserve" || method == "resize") && call->getNumArgs() > 0) {
      const Expr* n = isa<CXXMemberCallExpr>(call) ? call->getArg(0) : nullptr;
      s.bytes = Multiply(ConstantInt(ctx, n), s.type_size);
    }
    out_->push_back(std::move(s));
  }

  // Stack sites: big arrays, VLAs, alloca, and the function's static frame
  // estimate (sum of its locals; the compiler may overlap or drop some).
  class FrameWalker : public RecursiveASTVisitor<FrameWalker> {
   public:
    explicit FrameWalker(ASTContext& ctx) : ctx_(ctx) {}
    bool TraverseLambdaExpr(LambdaExpr*) { return true; }        // its own function
    bool TraverseCXXRecordDecl(CXXRecordDecl*) { return true; }  // local classes: their methods
    bool VisitVarDecl(VarDecl* v) {
      if (!v->hasLocalStorage() || isa<ParmVarDecl>(v)) return true;
      QualType t = v->getType();
      if (t->isReferenceType()) {
        frame_bytes += 8;
        return true;
      }
      if (t->isVariableArrayType()) {
        vlas.push_back(v);
        return true;
      }
      std::optional<int64_t> size = TypeSize(ctx_, t);
      if (size) frame_bytes += *size;
      if (size && t->isConstantArrayType()) arrays.emplace_back(v, *size);
      return true;
    }
    bool VisitCallExpr(CallExpr* c) {
      unsigned id = c->getBuiltinCallee();
      if (id == Builtin::BI__builtin_alloca || id == Builtin::BI__builtin_alloca_with_align ||
          id == Builtin::BIalloca) {
        allocas.push_back(c);
      }
      return true;
    }

    ASTContext& ctx_;
    int64_t frame_bytes = 0;
    std::vector<std::pair<const VarDecl*, int64_t>> arrays;
    std::vector<const VarDecl*> vlas;
    std::vector<const CallExpr*> allocas;
  };

  void OnFunction(ASTContext& ctx, const FunctionDecl* fd) {
    if (fd->isDependentContext() || fd->getBody() == nullptr) return;
    FrameWalker w(ctx);
    w.TraverseStmt(fd->getBody());
    std::vector<std::pair<const VarDecl*, int64_t>> big;
    for (const auto& [v, size] : w.arrays) {
      if (size >= options_.large_array_bytes) big.emplace_back(v, size);
    }
    if (big.empty() && w.vlas.empty() && w.allocas.empty()) return;
    ExprContext ec;
    ec.function = fd;
    if (const auto* md = dyn_cast<CXXMethodDecl>(fd); md != nullptr && md->getParent()->isLambda()) {
      ec.lambda = true;
      ec.function = EnclosingFunctionOf(md->getParent()->getDeclContext(), &ec.lambda);
      if (ec.function == nullptr) return;
    }
    PrintingPolicy pp = MakePolicy(ctx);
    SourceSite frame;
    if (!Locate(ctx, fd->getSourceRange(), ec, &frame)) return;
    frame.kind = SiteKind::kStackFrame;
    frame.type_size = w.frame_bytes;
    frame.detail = "static frame estimate: sum of local variables";
    auto local = [&](SourceRange range, SiteKind kind) {
      SourceSite s;
      Locate(ctx, range, ec, &s);
      s.kind = kind;
      s.function_line = frame.function_line;
      s.function_end_line = frame.function_end_line;
      return s;
    };
    for (const auto& [v, size] : big) {
      SourceSite s = local(v->getSourceRange(), SiteKind::kStackArray);
      s.type = TypeName(v->getType(), pp, scope_);
      s.type_size = size;
      s.bytes = size;
      s.detail = v->getNameAsString();
      out_->push_back(std::move(s));
    }
    for (const VarDecl* v : w.vlas) {
      SourceSite s = local(v->getSourceRange(), SiteKind::kVla);
      s.type = TypeName(v->getType(), pp, scope_);
      s.type_size = TypeSize(ctx, ctx.getBaseElementType(v->getType()));
      s.detail = v->getNameAsString();
      out_->push_back(std::move(s));
    }
    for (const CallExpr* c : w.allocas) {
      SourceSite s = local(c->getSourceRange(), SiteKind::kAlloca);
      // alloca can be inside a loop; ask the parent map only for these.
      s.in_loop = ContextOf(ctx, c).in_loop;
      if (c->getNumArgs() > 0) s.bytes = ConstantInt(ctx, c->getArg(0));
      ExprContext cast = ContextOf(ctx, c);
      if (!cast.cast_to.isNull()) {
        s.type = TypeName(cast.cast_to, pp, scope_);
        s.type_size = TypeSize(ctx, cast.cast_to);
      }
      s.detail = "alloca";
      out_->push_back(std::move(s));
    }
    out_->push_back(std::move(frame));
  }

  std::string directory_;
  const ScanOptions& options_;
  std::vector<SourceSite>* out_;
  std::string scope_;  // namespace of the site being built (Locate), for TypeName
};

void AddMatchers(MatchFinder& finder, SiteCollector* cb) {
  auto user_code = unless(isExpansionInSystemHeader());
  finder.addMatcher(cxxNewExpr(user_code).bind("new"), cb);
  finder.addMatcher(
      callExpr(user_code,
               callee(functionDecl(hasAnyName("::malloc", "::calloc", "::realloc", "::reallocarray",
                                              "::aligned_alloc", "::posix_memalign", "::memalign",
                                              "::valloc", "::pvalloc", "::strdup", "::strndup"))
                          .bind("malloc_fn")))
          .bind("malloc"),
      cb);
  finder.addMatcher(
      callExpr(user_code, callee(functionDecl(hasAnyName(
                                                  "::std::make_unique", "::std::make_shared",
                                                  "::std::allocate_shared",
                                                  "::std::make_unique_for_overwrite",
                                                  "::std::make_shared_for_overwrite",
                                                  "::std::allocate_shared_for_overwrite"))
                                      .bind("make_fn")))
          .bind("make"),
      cb);
  auto container = cxxRecordDecl(hasAnyName(
      "::std::vector", "::std::deque", "::std::list", "::std::forward_list", "::std::map",
      "::std::multimap", "::std::set", "::std::multiset", "::std::unordered_map",
      "::std::unordered_multimap", "::std::unordered_set", "::std::unordered_multiset",
      "::std::basic_string"));
  auto growth = cxxMethodDecl(
      hasAnyName("push_back", "emplace_back", "push_front", "emplace_front", "insert", "emplace",
                 "emplace_hint", "try_emplace", "insert_or_assign", "resize", "reserve", "append",
                 "operator+=", "operator[]"),
      ofClass(container));
  finder.addMatcher(cxxMemberCallExpr(user_code, callee(growth.bind("grow_method"))).bind("grow"), cb);
  finder.addMatcher(cxxOperatorCallExpr(user_code, callee(growth.bind("grow_method"))).bind("grow"), cb);
  finder.addMatcher(functionDecl(user_code, isDefinition()).bind("function"), cb);
}

// Keeps the first error of a translation unit, for a one-line problem.
class ProblemCollector : public DiagnosticConsumer {
 public:
  void HandleDiagnostic(DiagnosticsEngine::Level level, const Diagnostic& info) override {
    DiagnosticConsumer::HandleDiagnostic(level, info);  // counts errors
    if (level < DiagnosticsEngine::Error) return;
    if (level == DiagnosticsEngine::Fatal) fatal_ = true;
    if (!first_.empty()) return;
    llvm::SmallString<160> msg;
    info.FormatDiagnostic(msg);
    if (info.hasSourceManager() && info.getLocation().isValid()) {
      PresumedLoc p = info.getSourceManager().getPresumedLoc(info.getLocation());
      if (p.isValid()) {
        first_ = std::string(llvm::sys::path::filename(p.getFilename())) + ":" +
                 std::to_string(p.getLine()) + ":" + std::to_string(p.getColumn()) + ": ";
      }
    }
    first_ += msg.str().str();
  }
  const std::string& first() const { return first_; }
  bool fatal() const { return fatal_; }

 private:
  std::string first_;
  bool fatal_ = false;
};

class ScanConsumer : public ASTConsumer {
 public:
  ScanConsumer(std::string directory, const ScanOptions& options, std::vector<SourceSite>* out)
      : collector_(std::move(directory), options, out) {
    AddMatchers(finder_, &collector_);
  }
  void HandleTranslationUnit(ASTContext& ctx) override {
    // Match only declarations outside system headers: the standard library
    // is most of every TU, and traversing it would cost more than the
    // matching of user code. Instantiations of user templates hang off
    // their (user) template, so they are still visited.
    const SourceManager& sm = ctx.getSourceManager();
    std::vector<Decl*> scope;
    for (Decl* d : ctx.getTranslationUnitDecl()->decls()) {
      SourceLocation loc = sm.getExpansionLoc(d->getLocation());
      if (loc.isInvalid() || !sm.isInSystemHeader(loc)) scope.push_back(d);
    }
    ctx.setTraversalScope(scope);
    finder_.matchAST(ctx);
  }

 private:
  SiteCollector collector_;
  MatchFinder finder_;
};

class ScanAction : public ASTFrontendAction {
 public:
  ScanAction(std::string directory, const ScanOptions& options, std::vector<SourceSite>* out,
             ProblemCollector* problems)
      : directory_(std::move(directory)), options_(options), out_(out), problems_(problems) {}
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance& ci, llvm::StringRef) override {
    // runToolOnCode* has no way to pass a diagnostic consumer; take them here.
    if (problems_ != nullptr && ci.getDiagnostics().getClient() != problems_) {
      ci.getDiagnostics().setClient(problems_, /*ShouldOwnClient=*/false);
    }
    return std::make_unique<ScanConsumer>(directory_, options_, out_);
  }

 private:
  std::string directory_;
  const ScanOptions& options_;
  std::vector<SourceSite>* out_;
  ProblemCollector* problems_;
};

class ScanActionFactory : public tooling::FrontendActionFactory {
 public:
  ScanActionFactory(std::string directory, const ScanOptions& options, std::vector<SourceSite>* out,
                    ProblemCollector* problems)
      : directory_(std::move(directory)), options_(options), out_(out), problems_(problems) {}
  std::unique_ptr<FrontendAction> create() override {
    return std::make_unique<ScanAction>(directory_, options_, out_, problems_);
  }

 private:
  std::string directory_;
  const ScanOptions& options_;
  std::vector<SourceSite>* out_;
  ProblemCollector* problems_;
};

// A file listed twice (two configurations) is parsed once, with its first
// command: the sites of one configuration are what a trace can show.
class FirstCommandDatabase : public tooling::CompilationDatabase {
 public:
  explicit FirstCommandDatabase(const tooling::CompilationDatabase& db) : db_(db) {}
  std::vector<tooling::CompileCommand> getCompileCommands(llvm::StringRef file) const override {
    std::vector<tooling::CompileCommand> all = db_.getCompileCommands(file);
    if (all.size() > 1) all.resize(1);
    return all;
  }

 private:
  const tooling::CompilationDatabase& db_;
};

std::vector<std::string> ExtraArgs() {
  std::vector<std::string> args;
  std::string dir = ClangResourceDir();
  if (!dir.empty()) args.insert(args.end(), {"-resource-dir", dir});
  // Warnings are the build's business; GCC-only warning flags must not
  // fail the parse.
  // -fno-caret-diagnostics also stops clang printing "1 error generated."
  // on stderr itself: problems are reported as one line each, by us.
  args.insert(args.end(), {"-w", "-Wno-unknown-warning-option", "-Qunused-arguments",
                           "-fno-caret-diagnostics"});
  return args;
}

bool IsSourceFile(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  for (llvm::StringRef e : {".c", ".cc", ".cpp", ".cxx", ".c++", ".C", ".cp", ".CPP", ".h", ".hh",
                            ".hpp", ".hxx", ".ipp", ".inl", ".tcc", ".i", ".ii"}) {
    if (ext == e) return true;
  }
  return false;
}

struct FileScan {
  std::vector<SourceSite> sites;
  std::string problem;  // empty = parsed cleanly
  bool failed = false;
};

FileScan ScanOneFile(const tooling::CompilationDatabase& db, const std::string& file,
                     const ScanOptions& options) {
  FileScan out;
  std::vector<tooling::CompileCommand> commands = db.getCompileCommands(file);
  if (!llvm::sys::fs::exists(file)) {
    out.failed = true;
    out.problem = "file not found (a generated file not built yet? build the project first); skipped";
    return out;
  }
  std::string directory = commands.empty() ? std::string() : commands[0].Directory;
  ProblemCollector problems;
  // Each file gets its own file system object: working directories are
  // per compile command and the threads must not share one (a real chdir).
  llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> fs = llvm::vfs::createPhysicalFileSystem();
  tooling::ClangTool tool(db, {file}, std::make_shared<PCHContainerOperations>(), fs);
  tool.setPrintErrorMessage(false);
  tool.setDiagnosticConsumer(&problems);
  tool.appendArgumentsAdjuster(
      tooling::getInsertArgumentAdjuster(ExtraArgs(), tooling::ArgumentInsertPosition::END));
  ScanActionFactory factory(directory, options, &out.sites, &problems);
  int rc = tool.run(&factory);
  if (rc != 0 || problems.getNumErrors() > 0) {
    out.failed = true;
    unsigned errors = problems.getNumErrors();
    std::string first = problems.first().empty() ? "clang could not run the compile command"
                                                 : problems.first();
    out.problem = (errors > 1 ? std::to_string(errors) + " errors, first: " : std::string()) + first +
                  (problems.fatal() ? " (parsing stopped there; sites before it are kept)"
                                    : " (sites from what parsed are kept)");
  }
  return out;
}

// Sites in headers come once per including TU; the template rule of
// docs/sites.md drops instantiations that add nothing to their pattern.
void Finish(std::vector<SourceSite>& sites) {
  auto key = [](const SourceSite& s) {
    return std::tie(s.file, s.line, s.column, s.kind, s.function, s.type, s.end_line);
  };
  std::sort(sites.begin(), sites.end(), [&](const SourceSite& a, const SourceSite& b) {
    return key(a) < key(b);
  });
  sites.erase(std::unique(sites.begin(), sites.end(),
                          [&](const SourceSite& a, const SourceSite& b) { return key(a) == key(b); }),
              sites.end());
  // A pattern whose type does not depend on the template already says it
  // all: "new Node" in List<T>::push is the same site in every List<X>.
  std::set<std::tuple<std::string, int32_t, int32_t, SiteKind, std::string>> concrete_patterns;
  for (const SourceSite& s : sites) {
    if (s.templ == SiteTemplate::kPattern && s.type_size.has_value()) {
      concrete_patterns.emplace(s.file, s.line, s.column, s.kind, s.type);
    }
  }
  if (concrete_patterns.empty()) return;
  sites.erase(std::remove_if(sites.begin(), sites.end(),
                             [&](const SourceSite& s) {
                               return s.templ == SiteTemplate::kInstantiation &&
                                      concrete_patterns.count(
                                          {s.file, s.line, s.column, s.kind, s.type}) > 0;
                             }),
              sites.end());
}

}  // namespace

std::string ClangResourceDir() {
  if (const char* env = std::getenv("ATR_CLANG_RESOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return ATR_CLANG_RESOURCE_DIR;
}

absl::StatusOr<ScanResult> ScanCompilationDatabase(const std::string& build_dir,
                                                   const ScanOptions& options) {
  auto start = std::chrono::steady_clock::now();
  std::string json = build_dir;
  if (llvm::sys::fs::is_directory(build_dir)) {
    llvm::SmallString<256> p(build_dir);
    llvm::sys::path::append(p, "compile_commands.json");
    json = std::string(p.str());
    if (!llvm::sys::fs::exists(json)) {
      return absl::NotFoundError(
          build_dir + ": no compile_commands.json (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON, "
                      "or give the directory that has it)");
    }
  } else if (!llvm::sys::fs::exists(build_dir)) {
    return absl::NotFoundError(build_dir + ": no such directory");
  }
  std::string error;
  std::unique_ptr<tooling::JSONCompilationDatabase> db = tooling::JSONCompilationDatabase::loadFromFile(
      json, error, tooling::JSONCommandLineSyntax::AutoDetect);
  if (db == nullptr) {
    // LLVM's messages are multi-line and start with "Error while ...".
    std::replace(error.begin(), error.end(), '\n', ' ');
    return absl::InvalidArgumentError(json + ": not a usable compilation database: " + error);
  }
  std::vector<std::string> all = db->getAllFiles();
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (all.empty()) return absl::InvalidArgumentError(json + ": lists no files");

  ScanResult result;
  result.database = json;
  std::vector<std::string> files;
  for (const std::string& f : all) {
    if (!options.only_files.empty() &&
        std::none_of(options.only_files.begin(), options.only_files.end(),
                     [&](const std::string& part) { return f.find(part) != std::string::npos; })) {
      continue;
    }
    if (!IsSourceFile(f)) {
      ++result.files_skipped;
      continue;
    }
    files.push_back(f);
  }
  result.files = static_cast<int>(files.size());

  FirstCommandDatabase first(*db);
  std::vector<FileScan> scans(files.size());
  // The pool's threads report progress one at a time, counting files done.
  struct Progress {
    absl::Mutex mu;
    int done ABSL_GUARDED_BY(mu) = 0;
  } progress;
  {
    llvm::ThreadPool pool(llvm::hardware_concurrency(std::max(1, options.jobs)));
    for (size_t i = 0; i < files.size(); ++i) {
      pool.async([&, i] {
        scans[i] = ScanOneFile(first, files[i], options);
        if (options.progress) {
          absl::MutexLock lock(&progress.mu);
          options.progress(++progress.done, static_cast<int>(files.size()), files[i]);
        }
      });
    }
    pool.wait();
  }
  for (size_t i = 0; i < files.size(); ++i) {
    FileScan& s = scans[i];
    if (s.failed) ++result.files_failed;
    if (!s.problem.empty()) result.problems.push_back({files[i], files[i] + ": " + s.problem});
    for (SourceSite& site : s.sites) result.sites.push_back(std::move(site));
  }
  Finish(result.sites);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

ScanResult ScanCode(const std::string& code, const std::vector<std::string>& args,
                    const std::string& filename, const ScanOptions& options) {
  ScanResult result;
  result.files = 1;
  std::vector<std::string> all_args = args;
  for (std::string& a : ExtraArgs()) all_args.push_back(std::move(a));
  ProblemCollector problems;
  std::string directory(llvm::sys::path::parent_path(filename));
  bool ok = tooling::runToolOnCodeWithArgs(
      std::make_unique<ScanAction>(directory, options, &result.sites, &problems), code, all_args,
      filename, "atr-sites");
  if (!ok || problems.getNumErrors() > 0) {
    result.files_failed = 1;
    result.problems.push_back({filename, filename + ": " + (problems.first().empty()
                                                                ? std::string("clang failed")
                                                                : problems.first())});
  }
  Finish(result.sites);
  return result;
}

}  // namespace atr
