// ChunkBuilder: spool chunks built byte by byte, laid out as the preload
// library writes them (recorder/spool_format.h), for tests of the reader
// and the collector.
//
//   ChunkBuilder b(/*pid=*/123, /*tid=*/123);
//   b.AddStack(0x1234, {0x401000, 0x401100});
//   b.AddEvent(Op::kMalloc, /*seq=*/1, /*addr=*/0x1000, /*size=*/16, 0x1234);
//   b.AddEncodedEvent(e);  // compact when it fits, as the preload writes it
//   std::vector<uint8_t> bytes = b.Build();  // append to a <pid>.0.spool file
#ifndef ATR_RECORDER_TESTDATA_SPOOL_CHUNK_BUILDER_H_
#define ATR_RECORDER_TESTDATA_SPOOL_CHUNK_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "db/ops.h"
#include "recorder/spool_compact.h"
#include "recorder/spool_format.h"

namespace atr::testing_spool {

// Builds chunks byte by byte, the way the preload library lays them out.
class ChunkBuilder {
 public:
  ChunkBuilder(uint32_t pid, uint32_t tid) : pid_(pid), tid_(tid) {}

  template <typename T>
  T* Add(const T& rec, const std::string& tail = "") {
    size_t at = records_.size();
    uint32_t bytes = spool::RoundUp8(static_cast<uint32_t>(sizeof(T) + tail.size()));
    records_.resize(at + bytes, 0);
    std::memcpy(records_.data() + at, &rec, sizeof(T));
    if (!tail.empty()) std::memcpy(records_.data() + at + sizeof(T), tail.data(), tail.size());
    auto* h = reinterpret_cast<spool::RecordHeader*>(records_.data() + at);
    h->bytes = static_cast<uint16_t>(bytes);
    return reinterpret_cast<T*>(records_.data() + at);
  }
  void AddEvent(Op op, uint64_t seq, uint64_t addr, uint64_t size, uint64_t stack = 0) {
    spool::EventRecord e = {};
    e.h = {spool::RecordType::kEvent, static_cast<uint8_t>(op), 0};
    e.seq = seq;
    e.addr = addr;
    e.size = size;
    e.stack = stack;
    Add(e);
    spool::Advance(base_, e);
  }
  // As the preload library writes an event: compact (against the events
  // added before in this chunk) when it fits, else a full EventRecord.
  // Returns the bytes it took.
  uint32_t AddEncodedEvent(const spool::EventRecord& e) {
    uint8_t out[spool::kMaxCompactBytes];
    uint32_t n = spool::EncodeCompact(base_, e, out);
    if (n == 0) {
      spool::EventRecord full = e;
      full.h = {spool::RecordType::kEvent, e.h.op, sizeof(full)};
      Add(full);
      spool::Advance(base_, full);
      return sizeof(full);
    }
    records_.insert(records_.end(), out, out + n);
    return n;
  }
  // Opens a chunk that continues another's deltas (as a mid-buffer flush).
  void AddDeltaBase(const spool::DeltaBase& b) {
    spool::DeltaBaseRecord d = {};
    d.h = {static_cast<spool::RecordType>(spool::kDeltaBaseType), 0, 0};
    d.base = b;
    Add(d);
    base_ = b;
  }
  const spool::DeltaBase& base() const { return base_; }
  void AddStack(uint64_t hash, const std::vector<uint64_t>& pcs) {
    spool::StackRecord s = {};
    s.h = {spool::RecordType::kStack, 0, 0};
    s.depth = static_cast<uint32_t>(pcs.size());
    s.hash = hash;
    Add(s, std::string(reinterpret_cast<const char*>(pcs.data()), pcs.size() * 8));
  }
  std::vector<uint8_t> Build() const {
    spool::ChunkHeader h = {spool::ChunkHeader::kMagic, static_cast<uint32_t>(records_.size()),
                            pid_, tid_};
    std::vector<uint8_t> out(sizeof(h));
    std::memcpy(out.data(), &h, sizeof(h));
    out.insert(out.end(), records_.begin(), records_.end());
    return out;
  }
  // The first records of a file: ProcessRecord (exe, cwd, argv) with a
  // clock pair and a TSC rate.
  void AddProcess(uint32_t ppid, const std::vector<std::string>& strings, uint64_t tsc,
                  uint64_t mono_ns, uint64_t tsc_hz) {
    spool::ProcessRecord pr = {};
    pr.h.type = spool::RecordType::kProcess;
    pr.h.op = static_cast<uint8_t>(spool::kSpoolVersion);
    pr.ppid = ppid;
    pr.tsc = tsc;
    pr.mono_ns = mono_ns;
    pr.tsc_hz = tsc_hz;
    pr.argc = static_cast<uint32_t>(strings.size() - 2);
    std::string tail;
    for (const std::string& s : strings) tail.append(s).push_back('\0');
    Add(pr, tail);
  }
  std::vector<uint8_t>& records() { return records_; }

 private:
  uint32_t pid_, tid_;
  std::vector<uint8_t> records_;
  spool::DeltaBase base_ = {};
};

}  // namespace atr::testing_spool

#endif  // ATR_RECORDER_TESTDATA_SPOOL_CHUNK_BUILDER_H_
