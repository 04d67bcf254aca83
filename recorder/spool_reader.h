// Reading spool files (recorder/spool_format.h): chunks, then typed records.
// Compact events are decoded on the way: iteration presents every event as
// a kEvent with its EventRecord, and never yields a DeltaBaseRecord.
//
// A reader follows one <pid>.<n>.spool file, possibly while its process is
// still writing it: NextChunk() returns false when no further *complete*
// chunk is there yet; call it again later to continue from the same offset.
// Once the writer is known to be gone, IncompleteTail() says whether the file ended
// cleanly or with a truncated chunk. Every chunk is validated completely
// (magic, sizes, every record's length and type-specific layout) before it
// is returned, so iterating its records cannot fail. Errors carry the byte
// offset of the bad chunk or record and are sticky.
//
//   absl::StatusOr<SpoolFileReader> reader = SpoolFileReader::Open(path);
//   while (true) {
//     absl::StatusOr<std::optional<SpoolChunk>> c = reader->NextChunk();
//     if (!c.ok()) return c.status();          // corrupt chunk at offset N
//     if (!c->has_value()) break;              // or: wait and poll again
//     for (const SpoolRecord& r : (*c)->records()) {
//       if (r.type() == spool::RecordType::kEvent) Use(r.event());
//     }
//   }
//   absl::Status tail = reader->IncompleteTail();  // truncated tail?
#ifndef ATR_RECORDER_SPOOL_READER_H_
#define ATR_RECORDER_SPOOL_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "recorder/spool_compact.h"
#include "recorder/spool_format.h"

namespace atr {

// The strings of a ProcessRecord, copied out.
struct ProcessStrings {
  std::string exe;
  std::string cwd;
  std::vector<std::string> argv;  // argc entries
};

// One record of a validated chunk. The typed accessors REQUIRE the matching
// type(); record types this reader does not know are returned with their raw
// type so a newer writer's records can be skipped. Points into the reader's
// buffer: valid until the reader's next NextChunk().
class SpoolRecord {
 public:
  // `event`: the decoded event when data holds one (either form).
  SpoolRecord(const uint8_t* data, uint64_t file_offset, const spool::ChunkHeader* chunk,
              const spool::EventRecord& event)
      : data_(data), offset_(file_offset), chunk_(chunk), event_(event) {}

  // kEvent for both event forms; header() and bytes() show the stored form.
  spool::RecordType type() const {
    spool::RecordType t = header().type;
    return static_cast<uint8_t>(t) == spool::kCompactEventType ? spool::RecordType::kEvent : t;
  }
  const spool::RecordHeader& header() const { return As<spool::RecordHeader>(); }
  uint64_t file_offset() const { return offset_; }
  absl::Span<const uint8_t> bytes() const { return {data_, header().bytes}; }
  uint32_t chunk_pid() const { return chunk_->pid; }
  uint32_t chunk_tid() const { return chunk_->tid; }

  // Decoded: a compact record's fields filled in, h.type kEvent, 56 bytes.
  const spool::EventRecord& event() const { return event_; }
  const spool::ThreadRecord& thread() const { return As<spool::ThreadRecord>(); }
  const spool::LostRecord& lost() const { return As<spool::LostRecord>(); }
  const spool::StackRecord& stack() const { return As<spool::StackRecord>(); }
  absl::Span<const uint64_t> stack_pcs() const;  // innermost first
  const spool::ModuleRecord& module() const { return As<spool::ModuleRecord>(); }
  absl::string_view module_path() const;
  const spool::ProcessRecord& process() const { return As<spool::ProcessRecord>(); }
  ProcessStrings process_strings() const;

 private:
  template <typename T>
  const T& As() const {
    return *reinterpret_cast<const T*>(data_);
  }
  const uint8_t* data_;
  uint64_t offset_;
  const spool::ChunkHeader* chunk_;
  spool::EventRecord event_;
};

// A validated chunk. payload points into the reader's buffer and stays valid
// until the reader's next NextChunk() call.
struct SpoolChunk {
  uint64_t file_offset = 0;  // of the ChunkHeader
  spool::ChunkHeader header = {};
  absl::Span<const uint8_t> payload;

  // Walks the records in order, carrying the chunk's DeltaBase (zero at
  // its start) to decode compact events.
  class Iterator {
   public:
    Iterator(const uint8_t* p, const uint8_t* end, uint64_t off, const spool::ChunkHeader* h)
        : p_(p), end_(end), off_(off), h_(h) {
      Settle();
    }
    SpoolRecord operator*() const { return SpoolRecord(p_, off_, h_, event_); }
    Iterator& operator++() {
      Step();
      Settle();
      return *this;
    }
    bool operator!=(const Iterator& o) const { return p_ != o.p_; }
    bool operator==(const Iterator& o) const { return p_ == o.p_; }

   private:
    void Step() {
      uint16_t n = reinterpret_cast<const spool::RecordHeader*>(p_)->bytes;
      p_ += n;
      off_ += n;
    }
    // Applies the record at p_ to base_ (decoding an event into event_);
    // DeltaBaseRecords are consumed here, never yielded.
    void Settle() {
      while (p_ != end_) {
        spool::ApplyRecord(base_, p_, &event_);
        if (static_cast<uint8_t>(reinterpret_cast<const spool::RecordHeader*>(p_)->type) !=
            spool::kDeltaBaseType) {
          return;
        }
        Step();
      }
    }
    const uint8_t* p_;
    const uint8_t* end_;
    uint64_t off_;
    const spool::ChunkHeader* h_;
    spool::DeltaBase base_ = {};
    spool::EventRecord event_ = {};
  };
  struct Records {
    const SpoolChunk* chunk;
    Iterator begin() const {
      const uint8_t* end = chunk->payload.data() + chunk->payload.size();
      return {chunk->payload.data(), end, chunk->file_offset + sizeof(spool::ChunkHeader),
              &chunk->header};
    }
    Iterator end() const {
      const uint8_t* end = chunk->payload.data() + chunk->payload.size();
      return {end, end, chunk->file_offset + sizeof(spool::ChunkHeader) + chunk->payload.size(),
              &chunk->header};
    }
  };
  // REQUIRES: *this is not moved/copied while iterating (records point at
  // this->header for chunk_pid()/chunk_tid()).
  Records records() const { return {this}; }
};

// Checks a chunk's header and every record in its payload; `file_offset` is
// the chunk's offset, for error messages. Thread-safe (pure).
absl::Status ValidateSpoolChunk(const spool::ChunkHeader& header,
                                absl::Span<const uint8_t> payload, uint64_t file_offset);

// Follows one spool file. Movable, not copyable; not thread-safe.
class SpoolFileReader {
 public:
  SpoolFileReader() = default;
  // Opens a spool file for reading (it may still be growing).
  static absl::StatusOr<SpoolFileReader> Open(const std::string& path);
  ~SpoolFileReader();
  SpoolFileReader(SpoolFileReader&& other) noexcept;
  SpoolFileReader& operator=(SpoolFileReader&& other) noexcept;
  SpoolFileReader(const SpoolFileReader&) = delete;
  SpoolFileReader& operator=(const SpoolFileReader&) = delete;

  // The next chunk, or nullopt when no further *complete* chunk is in the
  // file now (the end, or a chunk still being written: poll again later).
  // DataLoss error: a corrupt chunk at the byte offset named; sticky.
  [[nodiscard]] absl::StatusOr<std::optional<SpoolChunk>> NextChunk();

  // For a file whose writer is gone, after NextChunk() returned nullopt: OK
  // if the file ends exactly after the last chunk, DataLoss naming the
  // offset of the truncated tail otherwise (a killed writer, a full disk).
  [[nodiscard]] absl::Status IncompleteTail() const;

  // Continues at `offset`, a chunk boundary an earlier reader of the file
  // reached (a resumed import): the bytes before it may be gone (punched).
  // REQUIRES: no NextChunk() call yet.
  void SkipTo(uint64_t offset) {
    offset_ = buffer_start_ = offset;
    buffer_.clear();
  }

  const std::string& path() const { return path_; }
  uint64_t offset() const { return offset_; }  // of the next chunk
  // Bytes past offset() seen in the file by the last NextChunk() call.
  uint64_t pending_bytes() const { return pending_; }

 private:
  SpoolFileReader(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  // Makes [offset_, offset_ + n) available in buffer_; false if the file
  // does not have that many bytes yet.
  absl::StatusOr<bool> Fill(uint64_t n);

  std::string path_;
  int fd_ = -1;
  uint64_t offset_ = 0;  // next chunk
  uint64_t pending_ = 0;
  std::vector<uint8_t> buffer_;  // file bytes from buffer_start_
  uint64_t buffer_start_ = 0;
  absl::Status error_;
};

}  // namespace atr

#endif  // ATR_RECORDER_SPOOL_READER_H_
