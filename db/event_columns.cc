#include "db/event_columns.h"

#include "absl/strings/str_cat.h"

namespace atr {

void EventColumns::Resize(size_t n) {
  seq.resize(n);
  ts_ns.resize(n);
  thread.resize(n);
  op.resize(n);
  addr.resize(n);
  size.resize(n);
  arg.resize(n);
  stack.resize(n);
  sp_depth.resize(n);
  free_after.resize(n);
}

namespace {

template <typename T>
void AssignSlice(const std::vector<T>& from, size_t first, size_t count, std::vector<T>* to) {
  to->assign(from.begin() + first, from.begin() + first + count);
}

}  // namespace

void EventColumns::AssignRows(const EventColumns& from, size_t first, size_t count) {
  AssignSlice(from.seq, first, count, &seq);
  AssignSlice(from.ts_ns, first, count, &ts_ns);
  AssignSlice(from.thread, first, count, &thread);
  AssignSlice(from.op, first, count, &op);
  AssignSlice(from.addr, first, count, &addr);
  AssignSlice(from.size, first, count, &size);
  AssignSlice(from.arg, first, count, &arg);
  AssignSlice(from.stack, first, count, &stack);
  AssignSlice(from.sp_depth, first, count, &sp_depth);
  AssignSlice(from.free_after, first, count, &free_after);
}

absl::Status CheckChunkColumns(const EventColumns& c) {
  const size_t n = c.seq.size();
  if (n == 0) return absl::InvalidArgumentError("event chunk: no events");
  if (n > kMaxChunkEvents) {
    return absl::InvalidArgumentError(
        absl::StrCat("event chunk: ", n, " events, more than the limit of ", kMaxChunkEvents));
  }
  const size_t sizes[] = {c.ts_ns.size(), c.thread.size(),   c.op.size(),
                          c.addr.size(),  c.size.size(),     c.arg.size(),
                          c.stack.size(), c.sp_depth.size(), c.free_after.size()};
  for (size_t s : sizes) {
    if (s != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("event chunk: columns differ in length (", s, " vs ", n, " seqs)"));
    }
  }
  for (size_t i = 1; i < n; ++i) {
    if (c.seq[i] <= c.seq[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("event chunk: seq not increasing at row ", i,
                                                     " (", c.seq[i], " after ", c.seq[i - 1], ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace atr
