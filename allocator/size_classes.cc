#include "allocator/size_classes.h"

#include <algorithm>
#include <bit>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace atr::alloc {
namespace {

struct SizeAndSpan {
  uint32_t size;        // bytes per object
  uint32_t span_bytes;  // bytes per span with 8 KiB pages; 0 = compute
};

// Go's table (runtime/sizeclasses.go, Go 1.17 onward): object size and the
// bytes per span Go chose for 8 KiB pages. Go tuned the span sizes to bound
// both the tail waste and the worst-case rounding waste, so they are taken as
// published rather than recomputed.
constexpr SizeAndSpan kGoTable[] = {
    {8, 8192},      {16, 8192},     {24, 8192},     {32, 8192},
    {48, 8192},     {64, 8192},     {80, 8192},     {96, 8192},
    {112, 8192},    {128, 8192},    {144, 8192},    {160, 8192},
    {176, 8192},    {192, 8192},    {208, 8192},    {224, 8192},
    {240, 8192},    {256, 8192},    {288, 8192},    {320, 8192},
    {352, 8192},    {384, 8192},    {416, 8192},    {448, 8192},
    {480, 8192},    {512, 8192},    {576, 8192},    {640, 8192},
    {704, 8192},    {768, 8192},    {896, 8192},    {1024, 8192},
    {1152, 8192},   {1280, 8192},   {1408, 16384},  {1536, 8192},
    {1792, 16384},  {2048, 8192},   {2304, 16384},  {2688, 8192},
    {3072, 24576},  {3200, 16384},  {3456, 24576},  {4096, 8192},
    {4864, 24576},  {5376, 16384},  {6144, 24576},  {6528, 32768},
    {6784, 40960},  {6912, 49152},  {8192, 8192},   {9472, 57344},
    {9728, 49152},  {10240, 40960}, {10880, 32768}, {12288, 24576},
    {13568, 40960}, {14336, 57344}, {16384, 16384}, {18432, 73728},
    {19072, 57344}, {20480, 40960}, {21760, 65536}, {24576, 24576},
    {27264, 81920}, {28672, 57344}, {32768, 32768},
};
static_assert(sizeof(kGoTable) / sizeof(kGoTable[0]) == 67);

constexpr uint64_t kMaxCustomSize = 1ull << 20;
constexpr uint32_t kMaxCustomClasses = 1000;

uint32_t TransferBatch(const Config& cfg, uint64_t size) {
  uint64_t n = cfg.transfer_bytes / size;
  return static_cast<uint32_t>(
      std::clamp<uint64_t>(n, 2, cfg.transfer_max_objects));
}

// Smallest number of pages whose span wastes at most the configured share in
// its tail (Go's and TCMalloc's rule), and holds at least min_objects objects.
uint32_t PagesForSize(const Config& cfg, uint64_t size, uint64_t min_objects) {
  uint64_t bytes = cfg.page_size;
  while (bytes < size * min_objects ||
         (bytes % size) * 1000 > bytes * cfg.max_tail_waste_permille) {
    bytes += cfg.page_size;
  }
  return static_cast<uint32_t>(bytes / cfg.page_size);
}

// A TCMalloc-like table: spacing of 8 bytes below 16, 16 below 128, then one
// eighth of the power of two below the size (12.5% steps); spans bound the
// tail waste and hold at least one transfer batch; neighbouring classes with
// the same span and object count are merged into the larger one.
std::vector<SizeAndSpan> TcmallocLikeSizes(const Config& cfg) {
  constexpr uint64_t kMax = 256 << 10;
  std::vector<SizeAndSpan> out;
  std::vector<uint32_t> pages;
  uint64_t size = 8;
  while (size <= kMax) {
    uint32_t p = PagesForSize(cfg, size, TransferBatch(cfg, size));
    if (!out.empty() && pages.back() == p &&
        (p * cfg.page_size) / out.back().size == (p * cfg.page_size) / size) {
      out.back().size = static_cast<uint32_t>(size);
    } else {
      out.push_back({static_cast<uint32_t>(size), 0});
      pages.push_back(p);
    }
    uint64_t step = size < 16 ? 8 : size < 128 ? 16 : std::bit_floor(size) / 8;
    step = std::min<uint64_t>(step, cfg.page_size);
    size += step;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].span_bytes = static_cast<uint32_t>(pages[i] * cfg.page_size);
  }
  return out;
}

absl::StatusOr<std::vector<SizeAndSpan>> CustomSizes(const Config& cfg) {
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key 'custom_classes': ", why));
  };
  if (cfg.custom_classes.empty()) {
    return bad("size_classes=custom needs a non-empty list, e.g. 16,32,64:2");
  }
  std::vector<SizeAndSpan> out;
  for (absl::string_view item :
       absl::StrSplit(cfg.custom_classes, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> sp =
        absl::StrSplit(item, absl::MaxSplits(':', 1));
    uint64_t size = 0, pages = 0;
    if (!absl::SimpleAtoi(sp.first, &size) ||
        (!sp.second.empty() && !absl::SimpleAtoi(sp.second, &pages))) {
      return bad(absl::StrCat("'", item, "' is not size or size:pages"));
    }
    if (size == 0 || size % 8 != 0 || size > kMaxCustomSize) {
      return bad(absl::StrCat("size ", size,
                              " must be a positive multiple of 8, at most ",
                              kMaxCustomSize));
    }
    if (!out.empty() && size <= out.back().size) {
      return bad(absl::StrCat("sizes must be strictly increasing (", size,
                              " after ", out.back().size, ")"));
    }
    if (!sp.second.empty() && (pages == 0 || pages * cfg.page_size < size ||
                               pages * cfg.page_size > cfg.arena_size)) {
      return bad(absl::StrCat("pages for size ", size,
                              " must hold one object and fit an arena"));
    }
    if (out.size() >= kMaxCustomClasses) {
      return bad(absl::StrCat("at most ", kMaxCustomClasses, " classes"));
    }
    out.push_back({static_cast<uint32_t>(size),
                   static_cast<uint32_t>(pages * cfg.page_size)});
  }
  if (out.empty()) return bad("no sizes given");
  return out;
}

}  // namespace

absl::StatusOr<SizeClasses> SizeClasses::Create(const Config& cfg) {
  std::vector<SizeAndSpan> sizes;
  switch (cfg.size_classes) {
    case SizeClassTable::kGo:
      sizes.assign(std::begin(kGoTable), std::end(kGoTable));
      break;
    case SizeClassTable::kTcmalloc:
      sizes = TcmallocLikeSizes(cfg);
      break;
    case SizeClassTable::kCustom: {
      absl::StatusOr<std::vector<SizeAndSpan>> custom = CustomSizes(cfg);
      if (!custom.ok()) return custom.status();
      sizes = *std::move(custom);
      break;
    }
  }
  SizeClasses sc;
  sc.page_size_ = cfg.page_size;
  sc.info_.push_back({});
  for (const SizeAndSpan& s : sizes) {
    SizeClassInfo info;
    info.size = s.size;
    if (s.span_bytes == 0) {
      info.pages = PagesForSize(cfg, s.size, 1);
    } else {
      // Published span bytes are for 8 KiB pages; keep the span's byte size
      // (rounded up) under another page size.
      info.pages = static_cast<uint32_t>(
          std::max<uint64_t>(1, (s.span_bytes + cfg.page_size - 1) / cfg.page_size));
    }
    info.capacity =
        static_cast<uint32_t>(info.pages * cfg.page_size / info.size);
    info.batch = TransferBatch(cfg, info.size);
    info.align = static_cast<uint32_t>(std::min<uint64_t>(
        uint64_t{1} << std::countr_zero(info.size), cfg.page_size));
    sc.info_.push_back(info);
  }
  sc.lookup_.resize(sc.max_size() / 8 + 1);
  uint32_t cls = 1;
  for (size_t i = 0; i < sc.lookup_.size(); ++i) {
    while (sc.info_[cls].size < i * 8) ++cls;
    sc.lookup_[i] = static_cast<uint16_t>(cls);
  }
  return sc;
}

uint32_t SizeClasses::ClassForAligned(uint32_t cls, uint64_t alignment) const {
  if (alignment > page_size_) return 0;
  for (; cls < info_.size(); ++cls) {
    if (info_[cls].align >= alignment) return cls;
  }
  return 0;
}

}  // namespace atr::alloc
