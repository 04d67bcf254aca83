// TraceWriter's metadata upserts: processes, threads, modules, frames,
// inline frames and meta, each keyed by its row's key so facts can be added
// as they are learned (a NULL argument keeps the stored value), and
// ExecuteSql for tables other components keep in the trace.
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/json_strings.h"
#include "db/schema.h"
#include "db/trace_writer.h"
#include "db/trace_writer_state.h"

namespace atr {

using db_internal::SqlStatement;

absl::Status TraceWriter::State::PrepareUpsertStatements() {
  ATR_ASSIGN_OR_RETURN(
      thread_update,
      SqlStatement::Prepare(db,
                            "UPDATE threads SET name=coalesce(?3,name), "
                            "creator_tid=coalesce(?4,creator_tid), "
                            "started_seq=coalesce(?5,started_seq), "
                            "ended_seq=coalesce(?6,ended_seq), stack_lo=coalesce(?7,stack_lo), "
                            "stack_hi=coalesce(?8,stack_hi) WHERE id=?1 AND ?2=?2",
                            "writing threads"));
  ATR_ASSIGN_OR_RETURN(
      process_upsert,
      SqlStatement::Prepare(
          db,
          "INSERT INTO processes(pid, image, ppid, exe, argv, cwd, started_seq, ended_seq, "
          "started_ns, ended_ns, exit_status, exit_signal) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
          "ON CONFLICT(pid, image) DO UPDATE SET ppid=coalesce(?3,ppid), "
          "exe=coalesce(?4,exe), argv=coalesce(?5,argv), cwd=coalesce(?6,cwd), "
          "started_seq=coalesce(?7,started_seq), ended_seq=coalesce(?8,ended_seq), "
          "started_ns=coalesce(?9,started_ns), ended_ns=coalesce(?10,ended_ns), "
          "exit_status=coalesce(?11,exit_status), exit_signal=coalesce(?12,exit_signal)",
          "writing processes"));
  ATR_ASSIGN_OR_RETURN(
      module_upsert,
      SqlStatement::Prepare(
          db,
          "INSERT INTO modules(id, pid, path, build_id, bias, lo, hi, loaded_seq, unloaded_seq) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) "
          "ON CONFLICT(id) DO UPDATE SET pid=?2, path=?3, build_id=coalesce(?4,build_id), "
          "bias=?5, lo=?6, hi=?7, loaded_seq=coalesce(?8,loaded_seq), "
          "unloaded_seq=coalesce(?9,unloaded_seq)",
          "writing modules"));
  ATR_ASSIGN_OR_RETURN(
      frame_upsert,
      SqlStatement::Prepare(
          db,
          "INSERT INTO frames(id, module_id, rel_pc, function, file, line, column, frame_size, "
          "dynamic_frame, call_insn) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
          "ON CONFLICT(id) DO UPDATE SET module_id=?2, rel_pc=?3, "
          "function=coalesce(?4,function), file=coalesce(?5,file), line=coalesce(?6,line), "
          "column=coalesce(?7,column), frame_size=coalesce(?8,frame_size), "
          "dynamic_frame=coalesce(?9,dynamic_frame), call_insn=coalesce(?10,call_insn)",
          "writing frames"));
  ATR_ASSIGN_OR_RETURN(inline_delete,
                       SqlStatement::Prepare(db, "DELETE FROM inline_frames WHERE frame_id=?1",
                                             "writing inline frames"));
  ATR_ASSIGN_OR_RETURN(inline_insert,
                       SqlStatement::Prepare(db,
                                             "INSERT INTO inline_frames(frame_id, depth, function, "
                                             "file, line, column) VALUES(?1,?2,?3,?4,?5,?6)",
                                             "writing inline frames"));
  ATR_ASSIGN_OR_RETURN(
      meta_upsert,
      SqlStatement::Prepare(db,
                            "INSERT INTO meta(key, value) VALUES(?1,?2) "
                            "ON CONFLICT(key) DO UPDATE SET value=?2",
                            "writing meta"));
  return absl::OkStatus();
}

absl::Status TraceWriter::PutProcess(const ProcessRow& p) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  SqlStatement& st = s.process_upsert;
  st.BindInt64(1, p.pid);
  st.BindInt64(2, p.image);
  st.BindOptInt64(3, p.ppid);
  st.BindOptText(4, p.exe);
  if (p.argv) st.BindText(5, db_internal::EncodeJsonStrings(*p.argv)); else st.BindNull(5);
  st.BindOptText(6, p.cwd);
  st.BindOptInt64(7, p.started_seq);
  st.BindOptInt64(8, p.ended_seq);
  st.BindOptInt64(9, p.started_ns);
  st.BindOptInt64(10, p.ended_ns);
  st.BindOptInt64(11, p.exit_status);
  st.BindOptInt64(12, p.exit_signal);
  if (s.online != nullptr) ATR_RETURN_IF_ERROR(s.online->AddProcess(p.pid, p.ppid));
  return st.Run();
}

absl::Status TraceWriter::PutThread(const ThreadRow& t) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  ATR_ASSIGN_OR_RETURN(int64_t id, s.ThreadId(t.pid, t.tid, /*defer=*/nullptr));
  SqlStatement& st = s.thread_update;
  st.BindInt64(1, id);
  st.BindInt64(2, 0);
  st.BindOptText(3, t.name);
  st.BindOptInt64(4, t.creator_tid);
  st.BindOptInt64(5, t.started_seq);
  st.BindOptInt64(6, t.ended_seq);
  auto u64 = [](const std::optional<uint64_t>& v) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    return static_cast<int64_t>(*v);
  };
  st.BindOptInt64(7, u64(t.stack_lo));
  st.BindOptInt64(8, u64(t.stack_hi));
  return st.Run();
}

absl::Status TraceWriter::PutModule(const ModuleRow& m) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (m.id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(s.db.path(), ": module id ", m.id,
                                                   " is not > 0 (", m.path, ")"));
  }
  SqlStatement& st = s.module_upsert;
  st.BindInt64(1, m.id);
  st.BindInt64(2, m.pid);
  st.BindText(3, m.path);
  st.BindOptText(4, m.build_id);
  st.BindInt64(5, static_cast<int64_t>(m.bias));
  st.BindInt64(6, static_cast<int64_t>(m.lo));
  st.BindInt64(7, static_cast<int64_t>(m.hi));
  st.BindOptInt64(8, m.loaded_seq);
  st.BindOptInt64(9, m.unloaded_seq);
  return st.Run();
}

absl::Status TraceWriter::PutFrame(const FrameRow& f) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  if (f.id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(s.db.path(), ": frame id ", f.id, " is not > 0"));
  }
  SqlStatement& st = s.frame_upsert;
  st.BindInt64(1, f.id);
  st.BindIdOrNull(2, f.module_id);
  st.BindInt64(3, static_cast<int64_t>(f.rel_pc));
  st.BindOptText(4, f.function);
  st.BindOptText(5, f.file);
  st.BindOptInt64(6, f.line);
  st.BindOptInt64(7, f.column);
  st.BindOptInt64(8, f.frame_size);
  if (f.dynamic_frame) {
    st.BindInt64(9, *f.dynamic_frame ? 1 : 0);
  } else {
    st.BindNull(9);
  }
  st.BindOptText(10, f.call_insn);
  return st.Run();
}

absl::Status TraceWriter::PutInlineFrames(int64_t frame_id,
                                          absl::Span<const InlineFrameRow> rows) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  s.inline_delete.BindInt64(1, frame_id);
  ATR_RETURN_IF_ERROR(s.inline_delete.Run());
  for (const InlineFrameRow& r : rows) {
    SqlStatement& st = s.inline_insert;
    st.BindInt64(1, frame_id);
    st.BindInt64(2, r.depth);
    st.BindOptText(3, r.function);
    st.BindOptText(4, r.file);
    st.BindOptInt64(5, r.line);
    st.BindOptInt64(6, r.column);
    ATR_RETURN_IF_ERROR(st.Run());
  }
  return absl::OkStatus();
}

absl::Status TraceWriter::SetMeta(std::string_view key, std::string_view value) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  s.meta_upsert.BindText(1, key);
  s.meta_upsert.BindText(2, value);
  return s.meta_upsert.Run();
}

absl::Status TraceWriter::SetMetaInt(std::string_view key, int64_t value) {
  return SetMeta(key, absl::StrCat(value));
}

absl::Status TraceWriter::SetMetaList(std::string_view key,
                                      const std::vector<std::string>& values) {
  return SetMeta(key, db_internal::EncodeJsonStrings(values));
}

absl::Status TraceWriter::EnsureTables(TableGroup group) {
  ATR_RETURN_IF_ERROR(state_->CheckOpen());
  return db_internal::EnsureTableGroup(state_->db, group);
}

absl::Status TraceWriter::ExecuteSql(std::string_view sql, std::initializer_list<SqlArg> args) {
  State& s = *state_;
  ATR_RETURN_IF_ERROR(s.CheckOpen());
  auto it = s.other_statements.find(absl::string_view(sql.data(), sql.size()));
  if (it == s.other_statements.end()) {
    ATR_ASSIGN_OR_RETURN(SqlStatement st, SqlStatement::Prepare(s.db, sql, "writing"));
    it = s.other_statements.emplace(std::string(sql), std::move(st)).first;
  }
  SqlStatement& st = it->second;
  int i = 1;
  for (const SqlArg& a : args) {
    if (const int64_t* v = std::get_if<int64_t>(&a)) {
      st.BindInt64(i, *v);
    } else if (const std::string_view* t = std::get_if<std::string_view>(&a)) {
      st.BindText(i, *t);
    } else {
      st.BindNull(i);
    }
    ++i;
  }
  return st.Run();
}

}  // namespace atr
