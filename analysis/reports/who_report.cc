#include "analysis/reports/who_report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/json_writer.h"
#include "base/report_table.h"
#include "base/status_macros.h"
#include "db/query.h"

namespace atr {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

bool LiveAt(const AllocationRow& a, int64_t seq) {
  return a.alloc_seq <= seq && (!a.free_seq || *a.free_seq > seq);
}

void WriteAllocationJson(JsonWriter& j, const WhoAllocation& w) {
  const AllocationRow& a = w.row;
  j.BeginObject();
  j.Key("id").Int(a.id);
  j.Key("pid").Int(a.pid);
  j.Key("addr").Uint(a.addr);
  j.Key("size").Uint(a.size);
  j.Key("op").String(OpName(a.op));
  j.Key("alloc_seq").Int(a.alloc_seq);
  j.Key("alloc_tid").Int(a.alloc_tid);
  j.Key("free_seq");
  a.free_seq ? j.Int(*a.free_seq) : j.Null();
  j.Key("free_op");
  a.free_op ? j.String(OpName(*a.free_op)) : j.Null();
  j.Key("free_tid");
  a.free_tid ? j.Int(*a.free_tid) : j.Null();
  j.Key("alloc_site").String(w.alloc_stack.site_label);
  j.Key("alloc_frames");
  WriteStackJson(j, w.alloc_stack);
  j.Key("free_frames");
  WriteStackJson(j, w.free_stack);
  j.EndObject();
}

std::string Describe(const WhoAllocation& w) {
  const AllocationRow& a = w.row;
  std::string out = absl::StrCat("[", Hex(a.addr), ", ", Hex(a.addr + a.size), ")  ", a.size,
                                 " B by ", std::string(OpName(a.op)), " at seq ", a.alloc_seq, " (pid ",
                                 a.pid, ", tid ", a.alloc_tid, ")");
  if (a.free_seq) {
    absl::StrAppend(&out, ", released by ", a.free_op ? std::string(OpName(*a.free_op)) : "?", " at seq ",
                    *a.free_seq, " (tid ", a.free_tid.value_or(0), ")");
  } else {
    out += ", never released";
  }
  return out;
}

}  // namespace

absl::StatusOr<WhoReport> ComputeWho(TraceReader& reader, const WhoOptions& o) {
  WhoReport r;
  r.addr = o.addr;
  r.at_seq = o.at_seq;
  std::string sql = kAddressHistorySql;
  for (size_t p; (p = sql.find("?1")) != std::string::npos;) {
    sql.replace(p, 2, std::to_string(static_cast<int64_t>(o.addr)));
  }
  ATR_ASSIGN_OR_RETURN(QueryCursor q, QueryCursor::Run(reader, sql));
  StackViews views(&reader);
  auto stack = [&](int64_t id) -> absl::StatusOr<StackView> {
    if (id == 0) return StackView{};
    ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(id));
    return *v;
  };
  while (q.Next()) {
    AllocationRow a;
    a.id = q.Int(0);
    a.pid = static_cast<int32_t>(q.Int(1));
    if (o.pid && a.pid != *o.pid) continue;
    a.addr = static_cast<uint64_t>(q.Int(2));
    a.size = static_cast<uint64_t>(q.Int(3));
    a.align = static_cast<uint64_t>(q.Int(4));
    a.op = static_cast<Op>(q.Int(5));
    a.alloc_seq = q.Int(6);
    if (!q.IsNull(7)) a.free_seq = q.Int(7);
    if (!q.IsNull(8)) a.free_op = static_cast<Op>(q.Int(8));
    a.alloc_stack = q.Int(9);
    a.free_stack = q.Int(10);
    a.alloc_tid = static_cast<int32_t>(q.Int(11));
    if (!q.IsNull(12)) a.free_tid = static_cast<int32_t>(q.Int(12));
    WhoAllocation w;
    w.row = a;
    ATR_ASSIGN_OR_RETURN(StackView as, stack(a.alloc_stack));
    ATR_ASSIGN_OR_RETURN(StackView fs, stack(a.free_stack));
    w.alloc_stack = std::move(as);
    w.free_stack = std::move(fs);
    r.history.push_back(std::move(w));
  }
  ATR_RETURN_IF_ERROR(q.status());
  int64_t at = o.at_seq.value_or(INT64_MAX);
  for (const WhoAllocation& w : r.history) {
    if (LiveAt(w.row, at)) r.holder = w;  // the latest one live then
  }
  return r;
}

std::string RenderWhoText(const WhoReport& r) {
  std::string when = r.at_seq ? absl::StrCat("at seq ", *r.at_seq) : "at the end of the trace";
  std::string out;
  if (r.holder) {
    absl::StrAppend(&out, Hex(r.addr), " ", when, " is inside\n  ", Describe(*r.holder),
                    "\n  allocated at:\n", RenderStackText(r.holder->alloc_stack, "    "));
    if (r.holder->row.free_seq) {
      absl::StrAppend(&out, "  released at:\n", RenderStackText(r.holder->free_stack, "    "));
    }
  } else {
    absl::StrAppend(&out, Hex(r.addr), " ", when, " is not inside any live heap allocation\n");
  }
  absl::StrAppend(&out, "\nHistory: ", r.history.size(),
                  r.history.size() == 1 ? " allocation" : " allocations", " covered ",
                  Hex(r.addr), "\n");
  // "#id" padded to the widest, so the descriptions line up.
  size_t id_width = 0;
  for (const WhoAllocation& w : r.history) {
    id_width = std::max(id_width, absl::StrCat("#", w.row.id).size());
  }
  for (const WhoAllocation& w : r.history) {
    std::string id = absl::StrCat("#", w.row.id);
    id.resize(id_width, ' ');
    absl::StrAppend(&out, "  ", id, "  ", Describe(w), "\n      at ",
                    w.alloc_stack.site_label.empty() ? "(no stack)" : w.alloc_stack.site_label,
                    "\n");
  }
  return out;
}

std::string RenderWhoJson(const WhoReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Key("addr").Uint(r.addr);
  j.Key("at_seq");
  r.at_seq ? j.Int(*r.at_seq) : j.Null();
  j.Key("holder");
  if (r.holder) WriteAllocationJson(j, *r.holder);
  else j.Null();
  j.Key("history").BeginArray();
  for (const WhoAllocation& w : r.history) WriteAllocationJson(j, w);
  j.EndArray();
  j.EndObject();
  return j.str() + "\n";
}

std::string RenderWhoCsv(const WhoReport& r) {
  ReportTable t({{"id", Column::kId},          {"pid", Column::kId},
                 {"addr", Column::kId},        {"size", Column::kBytes},
                 {"op", Column::kText},        {"alloc_seq", Column::kId},
                 {"alloc_tid", Column::kId},   {"free_seq", Column::kId},
                 {"free_op", Column::kText},   {"free_tid", Column::kId},
                 {"holder", Column::kBool},    {"alloc_site", Column::kText}});
  auto opt = [](const auto& v) { return v ? Cell::Int(*v) : Cell::Null(); };
  for (const WhoAllocation& w : r.history) {
    const AllocationRow& a = w.row;
    t.AddRow({Cell::Int(a.id), Cell::Int(a.pid), Cell::Int(static_cast<int64_t>(a.addr)),
              Cell::Int(static_cast<int64_t>(a.size)), Cell::Text(std::string(OpName(a.op))),
              Cell::Int(a.alloc_seq), Cell::Int(a.alloc_tid), opt(a.free_seq),
              a.free_op ? Cell::Text(std::string(OpName(*a.free_op))) : Cell::Null(),
              opt(a.free_tid), Cell::Bool(r.holder && r.holder->row.id == a.id),
              Cell::Text(w.alloc_stack.site_label)});
  }
  return t.RenderCsv();
}

}  // namespace atr
