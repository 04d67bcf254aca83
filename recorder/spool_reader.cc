#include "recorder/spool_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"

namespace atr {

using namespace spool;  // NOLINT: the format types

namespace {

absl::Status Corrupt(uint64_t offset, absl::string_view what) {
  return absl::DataLossError(absl::StrFormat("corrupt spool chunk at byte offset %d: %s",
                                             offset, what));
}

// Length of a NUL-terminated string inside [p, end), or -1 if unterminated.
int64_t BoundedStrLen(const uint8_t* p, const uint8_t* end) {
  const void* nul = memchr(p, 0, static_cast<size_t>(end - p));
  return nul == nullptr ? -1 : static_cast<const uint8_t*>(nul) - p;
}

absl::Status ValidateRecord(const uint8_t* p, uint32_t bytes, uint64_t off) {
  const auto& h = *reinterpret_cast<const RecordHeader*>(p);
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrFormat(
        "corrupt spool record at byte offset %d (type %d, %d bytes): %s", off,
        static_cast<int>(h.type), bytes, why));
  };
  const uint8_t* end = p + bytes;
  auto wire_type = static_cast<uint8_t>(h.type);
  if (wire_type == kCompactEventType) {
    CompactEventRecord c;
    if (bytes < sizeof(c)) return bad("compact event too short");
    memcpy(&c, p, sizeof(c));
    if (h.op == 0) return bad("event without op code");
    uint32_t want = CompactRecordBytes(c.depth_fields);
    if (want == 0) return bad("compact event field bits");
    if (bytes != want) return bad("compact event size vs field bits");
    return absl::OkStatus();
  }
  if (wire_type == kDeltaBaseType) {
    if (bytes != sizeof(DeltaBaseRecord)) return bad("delta base record size");
    return absl::OkStatus();
  }
  switch (h.type) {
    case RecordType::kEvent:
      if (bytes != sizeof(EventRecord)) return bad("event record size");
      if (h.op == 0) return bad("event without op code");
      return absl::OkStatus();
    case RecordType::kStack: {
      if (bytes < sizeof(StackRecord)) return bad("stack record too short");
      const auto& s = *reinterpret_cast<const StackRecord*>(p);
      if (bytes != sizeof(StackRecord) + 8ull * s.depth) return bad("stack depth vs size");
      if (s.hash == 0) return bad("stack hash 0");
      return absl::OkStatus();
    }
    case RecordType::kModule: {
      if (bytes < sizeof(ModuleRecord) + 1) return bad("module record too short");
      if (BoundedStrLen(p + sizeof(ModuleRecord), end) < 0) return bad("module path unterminated");
      return absl::OkStatus();
    }
    case RecordType::kThread:
      if (bytes != sizeof(ThreadRecord)) return bad("thread record size");
      return absl::OkStatus();
    case RecordType::kProcess: {
      if (bytes < sizeof(ProcessRecord)) return bad("process record too short");
      if (h.op != kSpoolVersion) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "spool record at byte offset %d was written in spool format version %d; this atr "
            "reads version %d (record with the atr that reads the spool)",
            off, h.op == 0 ? 1 : h.op, kSpoolVersion));  // version 1 left op 0
      }
      const auto& pr = *reinterpret_cast<const ProcessRecord*>(p);
      const uint8_t* s = p + sizeof(ProcessRecord);
      uint64_t strings = 2ull + pr.argc;
      for (uint64_t i = 0; i < strings; ++i) {
        if (s >= end) return bad("process strings missing");
        int64_t n = BoundedStrLen(s, end);
        if (n < 0) return bad("process string unterminated");
        s += n + 1;
      }
      return absl::OkStatus();
    }
    case RecordType::kLost:
      if (bytes != sizeof(LostRecord)) return bad("lost record size");
      return absl::OkStatus();
  }
  return absl::OkStatus();  // unknown type: skippable
}

}  // namespace

absl::Span<const uint64_t> SpoolRecord::stack_pcs() const {
  return {reinterpret_cast<const uint64_t*>(data_ + sizeof(StackRecord)), stack().depth};
}

absl::string_view SpoolRecord::module_path() const {
  return absl::string_view(reinterpret_cast<const char*>(data_ + sizeof(ModuleRecord)));
}

ProcessStrings SpoolRecord::process_strings() const {
  ProcessStrings v;
  const char* s = reinterpret_cast<const char*>(data_ + sizeof(ProcessRecord));
  v.exe = s;
  s += v.exe.size() + 1;
  v.cwd = s;
  s += v.cwd.size() + 1;
  v.argv.reserve(process().argc);
  for (uint32_t i = 0; i < process().argc; ++i) {
    v.argv.emplace_back(s);
    s += v.argv.back().size() + 1;
  }
  return v;
}

absl::Status ValidateSpoolChunk(const ChunkHeader& header, absl::Span<const uint8_t> payload,
                                uint64_t file_offset) {
  if (header.magic != ChunkHeader::kMagic) {
    return Corrupt(file_offset, absl::StrFormat("bad magic 0x%08x", header.magic));
  }
  if (header.payload_bytes > kMaxChunkPayload) {
    return Corrupt(file_offset, absl::StrFormat("payload of %d bytes exceeds the %d limit",
                                                header.payload_bytes, kMaxChunkPayload));
  }
  if (header.payload_bytes % 8 != 0) {
    return Corrupt(file_offset, absl::StrFormat("payload of %d bytes is not a multiple of 8",
                                                header.payload_bytes));
  }
  if (payload.size() != header.payload_bytes) {
    return Corrupt(file_offset, "payload size differs from header");
  }
  uint64_t base = file_offset + sizeof(ChunkHeader);
  size_t off = 0;
  while (off < payload.size()) {
    if (payload.size() - off < sizeof(RecordHeader)) {
      return Corrupt(file_offset, absl::StrFormat("record header cut at byte offset %d", base + off));
    }
    const auto& h = *reinterpret_cast<const RecordHeader*>(payload.data() + off);
    if (h.bytes < 8 || h.bytes % 8 != 0 || h.bytes > payload.size() - off) {
      return Corrupt(file_offset, absl::StrFormat("record at byte offset %d has bad length %d",
                                                  base + off, h.bytes));
    }
    if (absl::Status s = ValidateRecord(payload.data() + off, h.bytes, base + off); !s.ok()) {
      return s;
    }
    off += h.bytes;
  }
  return absl::OkStatus();
}

absl::StatusOr<SpoolFileReader> SpoolFileReader::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrFormat("cannot open spool file %s: %s", path, strerror(errno)));
  }
  return SpoolFileReader(path, fd);
}

SpoolFileReader::~SpoolFileReader() {
  if (fd_ >= 0) close(fd_);
}

SpoolFileReader::SpoolFileReader(SpoolFileReader&& o) noexcept { *this = std::move(o); }

SpoolFileReader& SpoolFileReader::operator=(SpoolFileReader&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) close(fd_);
  path_ = std::move(o.path_);
  fd_ = std::exchange(o.fd_, -1);
  offset_ = o.offset_;
  pending_ = o.pending_;
  buffer_ = std::move(o.buffer_);
  buffer_start_ = o.buffer_start_;
  error_ = std::move(o.error_);
  return *this;
}

absl::StatusOr<bool> SpoolFileReader::Fill(uint64_t n) {
  // Drop bytes before the current chunk (the previous chunk's view dies).
  if (offset_ > buffer_start_) {
    uint64_t drop = std::min<uint64_t>(offset_ - buffer_start_, buffer_.size());
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(drop));
    buffer_start_ += drop;
  }
  uint64_t have = buffer_start_ + buffer_.size() - offset_;
  while (have < n) {
    size_t want = std::max<size_t>(n - have, 256 * 1024);
    size_t old = buffer_.size();
    buffer_.resize(old + want);
    ssize_t r = pread(fd_, buffer_.data() + old, want, static_cast<off_t>(buffer_start_ + old));
    if (r < 0) {
      buffer_.resize(old);
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrFormat("reading %s: %s", path_, strerror(errno)));
    }
    buffer_.resize(old + static_cast<size_t>(r));
    have += static_cast<uint64_t>(r);
    if (r == 0) break;
  }
  pending_ = have;
  return have >= n;
}

absl::StatusOr<std::optional<SpoolChunk>> SpoolFileReader::NextChunk() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return absl::FailedPreconditionError("spool reader not open");
  absl::StatusOr<bool> got = Fill(sizeof(ChunkHeader));
  if (!got.ok()) return got.status();
  if (!*got) return std::nullopt;
  ChunkHeader header;
  memcpy(&header, buffer_.data() + (offset_ - buffer_start_), sizeof(header));
  // Check the header before trusting its size: a corrupt size must not make
  // us wait forever for bytes that will never come.
  if (header.magic != ChunkHeader::kMagic || header.payload_bytes > kMaxChunkPayload ||
      header.payload_bytes % 8 != 0) {
    error_ = ValidateSpoolChunk(header, {}, offset_);
    return error_;
  }
  got = Fill(sizeof(ChunkHeader) + header.payload_bytes);
  if (!got.ok()) return got.status();
  if (!*got) return std::nullopt;
  const uint8_t* p = buffer_.data() + (offset_ - buffer_start_) + sizeof(ChunkHeader);
  absl::Span<const uint8_t> payload(p, header.payload_bytes);
  if (absl::Status s = ValidateSpoolChunk(header, payload, offset_); !s.ok()) {
    error_ = s;
    return error_;
  }
  SpoolChunk chunk;
  chunk.file_offset = offset_;
  chunk.header = header;
  chunk.payload = payload;
  offset_ += sizeof(ChunkHeader) + header.payload_bytes;
  pending_ -= sizeof(ChunkHeader) + header.payload_bytes;
  return chunk;
}

absl::Status SpoolFileReader::IncompleteTail() const {
  if (!error_.ok()) return error_;
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return absl::InternalError(absl::StrFormat("stat %s: %s", path_, strerror(errno)));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == offset_) return absl::OkStatus();
  if (size < offset_) {
    return absl::DataLossError(absl::StrFormat("spool file %s shrank below byte offset %d", path_,
                                               offset_));
  }
  return absl::DataLossError(absl::StrFormat(
      "truncated spool chunk at byte offset %d of %s: %d trailing bytes do not form a whole chunk",
      offset_, path_, size - offset_));
}

}  // namespace atr
