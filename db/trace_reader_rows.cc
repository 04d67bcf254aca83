// TraceReader's row readers: whole tables (processes, threads, modules,
// frames, stack nodes) as vectors, and the stack walk, which reads frames
// and stack nodes one at a time and caches them.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/json_strings.h"
#include "db/sqlite.h"
#include "db/trace_reader.h"
#include "db/trace_reader_state.h"

namespace atr {

using db_internal::OptInt32;
using db_internal::OptU64;
using db_internal::ReadRows;
using db_internal::SqlStatement;

namespace {

// Deepest stack walked before calling the trie damaged (a cycle).
constexpr int kMaxStackDepth = 100000;

// Columns 0-8: module_id, rel_pc, function, file, line, column, frame_size,
// dynamic_frame, call_insn.
void ReadFrameColumns(const SqlStatement& st, int first, FrameRow* f) {
  f->module_id = st.ColumnInt64(first);  // NULL reads as 0
  f->rel_pc = static_cast<uint64_t>(st.ColumnInt64(first + 1));
  f->function = st.ColumnOptText(first + 2);
  f->file = st.ColumnOptText(first + 3);
  f->line = OptInt32(st, first + 4);
  f->column = OptInt32(st, first + 5);
  f->frame_size = OptInt32(st, first + 6);
  if (std::optional<int32_t> d = OptInt32(st, first + 7)) f->dynamic_frame = *d != 0;
  f->call_insn = st.ColumnOptText(first + 8);
}

}  // namespace

absl::StatusOr<std::vector<ProcessRow>> TraceReader::Processes() const {
  return ReadRows<ProcessRow>(
      state_->db,
      "SELECT id, pid, image, ppid, exe, argv, cwd, started_seq, ended_seq, started_ns, ended_ns, "
      "exit_status, exit_signal FROM processes ORDER BY id",
      "reading processes", [this](const SqlStatement& st, ProcessRow* p) {
        p->id = st.ColumnInt64(0);
        p->pid = static_cast<int32_t>(st.ColumnInt64(1));
        p->image = static_cast<int32_t>(st.ColumnInt64(2));
        p->ppid = OptInt32(st, 3);
        p->exe = st.ColumnOptText(4);
        if (!st.IsNull(5)) {
          absl::StatusOr<std::vector<std::string>> argv =
              db_internal::DecodeJsonStrings(st.ColumnText(5));
          if (!argv.ok()) {
            return absl::DataLossError(
                absl::StrCat(path(), ": process ", p->pid, ": argv is not a JSON string array"));
          }
          p->argv = *std::move(argv);
        }
        p->cwd = st.ColumnOptText(6);
        p->started_seq = st.ColumnOptInt64(7);
        p->ended_seq = st.ColumnOptInt64(8);
        p->started_ns = st.ColumnOptInt64(9);
        p->ended_ns = st.ColumnOptInt64(10);
        p->exit_status = OptInt32(st, 11);
        p->exit_signal = OptInt32(st, 12);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<ThreadRow>> TraceReader::Threads() const {
  return ReadRows<ThreadRow>(
      state_->db,
      "SELECT id, pid, tid, name, creator_tid, started_seq, ended_seq, stack_lo, stack_hi "
      "FROM threads ORDER BY id",
      "reading threads", [](const SqlStatement& st, ThreadRow* t) {
        t->id = st.ColumnInt64(0);
        t->pid = static_cast<int32_t>(st.ColumnInt64(1));
        t->tid = static_cast<int32_t>(st.ColumnInt64(2));
        t->name = st.ColumnOptText(3);
        t->creator_tid = OptInt32(st, 4);
        t->started_seq = st.ColumnOptInt64(5);
        t->ended_seq = st.ColumnOptInt64(6);
        t->stack_lo = OptU64(st, 7);
        t->stack_hi = OptU64(st, 8);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<ModuleRow>> TraceReader::Modules() const {
  return ReadRows<ModuleRow>(
      state_->db,
      "SELECT id, pid, path, build_id, bias, lo, hi, loaded_seq, unloaded_seq FROM modules "
      "ORDER BY id",
      "reading modules", [](const SqlStatement& st, ModuleRow* m) {
        m->id = st.ColumnInt64(0);
        m->pid = static_cast<int32_t>(st.ColumnInt64(1));
        m->path = st.ColumnText(2);
        m->build_id = st.ColumnOptText(3);
        m->bias = static_cast<uint64_t>(st.ColumnInt64(4));
        m->lo = static_cast<uint64_t>(st.ColumnInt64(5));
        m->hi = static_cast<uint64_t>(st.ColumnInt64(6));
        m->loaded_seq = st.ColumnOptInt64(7);
        m->unloaded_seq = st.ColumnOptInt64(8);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<FrameRow>> TraceReader::Frames() const {
  return ReadRows<FrameRow>(
      state_->db,
      "SELECT id, module_id, rel_pc, function, file, line, column, frame_size, dynamic_frame, "
      "call_insn FROM frames ORDER BY id",
      "reading frames", [](const SqlStatement& st, FrameRow* f) {
        f->id = st.ColumnInt64(0);
        ReadFrameColumns(st, 1, f);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<StackNodeRow>> TraceReader::StackNodes() const {
  return ReadRows<StackNodeRow>(
      state_->db, "SELECT id, parent, frame FROM stacks ORDER BY id", "reading stacks",
      [](const SqlStatement& st, StackNodeRow* n) {
        *n = {st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2)};
        return absl::OkStatus();
      });
}

absl::StatusOr<const Frame*> TraceReader::GetFrame(int64_t frame_id) {
  State& s = *state_;
  if (auto it = s.frames.find(frame_id); it != s.frames.end()) return &it->second;
  s.frame_query.BindInt64(1, frame_id);
  ATR_ASSIGN_OR_RETURN(bool row, s.frame_query.Step());
  if (!row) {
    return absl::DataLossError(
        absl::StrCat(path(), ": damaged trace (frame ", frame_id, " is not in frames)"));
  }
  Frame f;
  f.row.id = frame_id;
  ReadFrameColumns(s.frame_query, 0, &f.row);
  s.frame_query.Reset();
  s.inline_query.BindInt64(1, frame_id);
  while (true) {
    ATR_ASSIGN_OR_RETURN(bool irow, s.inline_query.Step());
    if (!irow) break;
    InlineFrameRow r;
    r.depth = static_cast<int32_t>(s.inline_query.ColumnInt64(0));
    r.function = s.inline_query.ColumnOptText(1);
    r.file = s.inline_query.ColumnOptText(2);
    r.line = OptInt32(s.inline_query, 3);
    r.column = OptInt32(s.inline_query, 4);
    f.inlined.push_back(std::move(r));
  }
  return &s.frames.emplace(frame_id, std::move(f)).first->second;
}

absl::StatusOr<std::vector<const Frame*>> TraceReader::StackFrames(StackId id) {
  State& s = *state_;
  std::vector<const Frame*> out;
  for (StackId node = id; node != 0;) {
    if (out.size() >= static_cast<size_t>(kMaxStackDepth)) {
      return absl::DataLossError(
          absl::StrCat(path(), ": damaged trace (stack ", id, " loops or is deeper than ",
                       kMaxStackDepth, " frames)"));
    }
    auto it = s.nodes.find(node);
    if (it == s.nodes.end()) {
      s.node_query.BindInt64(1, node);
      ATR_ASSIGN_OR_RETURN(bool row, s.node_query.Step());
      if (!row) {
        return absl::DataLossError(
            absl::StrCat(path(), ": damaged trace (stack node ", node, " is not in stacks)"));
      }
      std::pair<StackId, int64_t> v{s.node_query.ColumnInt64(0), s.node_query.ColumnInt64(1)};
      s.node_query.Reset();
      it = s.nodes.emplace(node, v).first;
    }
    ATR_ASSIGN_OR_RETURN(const Frame* f, GetFrame(it->second.second));
    out.push_back(f);
    node = it->second.first;
  }
  return out;
}

}  // namespace atr
