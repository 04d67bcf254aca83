// Cost of Symbolizer lookups: first load of a module, uncached lookups
// (each address once), cached lookups (the same addresses again).
//
//   symbolizer_benchmark [module ...] [--benchmark_...]
// With no modules: the testdata executable (build/programs), Debian's
// libpython3.11 (stripped: symbol table only) and libc.so.6 (DWARF from
// libc6-dbg when installed). Addresses are spread over the function
// symbols of each module and visited in a fixed shuffled order.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Object/ObjectFile.h"
#include "recorder/symbolizer.h"

namespace atr {
namespace {

constexpr size_t kMaxAddresses = 20000;

// Pseudo return addresses inside the module's functions: every stride-th
// byte of every function symbol (+1, as Symbolize looks up rel_pc - 1).
std::vector<uint64_t> AddressesIn(const std::string& path) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [start, end)
  auto binary = llvm::object::ObjectFile::createObjectFile(path);
  if (!binary) {
    llvm::consumeError(binary.takeError());
    return {};
  }
  auto* elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(binary->getBinary());
  if (elf == nullptr) return {};
  auto add = [&](const llvm::object::ELFSymbolRef& symbol) {
    auto type = symbol.getType();
    auto address = symbol.getAddress();
    if (!type || !address) {
      if (!type) llvm::consumeError(type.takeError());
      if (!address) llvm::consumeError(address.takeError());
      return;
    }
    if (*type == llvm::object::SymbolRef::ST_Function && symbol.getSize() > 1) {
      ranges.emplace_back(*address, *address + symbol.getSize());
    }
  };
  for (const llvm::object::ELFSymbolRef& symbol : elf->symbols()) add(symbol);
  for (const llvm::object::ELFSymbolRef& symbol : elf->getDynamicSymbolIterators()) add(symbol);
  std::sort(ranges.begin(), ranges.end());
  ranges.erase(std::unique(ranges.begin(), ranges.end()), ranges.end());

  uint64_t total = 0;
  for (const auto& [start, end] : ranges) total += end - start;
  const uint64_t stride = std::max<uint64_t>(1, total / kMaxAddresses);
  std::vector<uint64_t> pcs;
  for (const auto& [start, end] : ranges) {
    for (uint64_t pc = start + 1; pc <= end; pc += stride) pcs.push_back(pc);
  }
  std::sort(pcs.begin(), pcs.end());
  pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
  std::shuffle(pcs.begin(), pcs.end(), std::mt19937_64(42));
  if (pcs.size() > kMaxAddresses) pcs.resize(kMaxAddresses);
  return pcs;
}

void FirstLoad(benchmark::State& state, const std::string& path, uint64_t pc) {
  for (auto _ : state) {
    Symbolizer symbolizer;
    benchmark::DoNotOptimize(symbolizer.Symbolize(path, pc));
  }
}

void Uncached(benchmark::State& state, const std::string& path, const std::vector<uint64_t>& pcs) {
  auto symbolizer = std::make_unique<Symbolizer>();
  symbolizer->Symbolize(path, pcs[0]).IgnoreError();  // loads the module
  size_t next = 1;
  uint64_t resolved = 0;
  for (auto _ : state) {
    if (next == pcs.size()) {  // every address seen: start over, untimed
      state.PauseTiming();
      symbolizer = std::make_unique<Symbolizer>();
      symbolizer->Symbolize(path, pcs[0]).IgnoreError();
      next = 1;
      state.ResumeTiming();
    }
    resolved += symbolizer->Symbolize(path, pcs[next++]).ok();
  }
  state.counters["resolved_fraction"] =
      benchmark::Counter(static_cast<double>(resolved), benchmark::Counter::kAvgIterations);
}

void Cached(benchmark::State& state, const std::string& path, const std::vector<uint64_t>& pcs) {
  Symbolizer symbolizer;
  const size_t n = std::min<size_t>(pcs.size(), 4096);
  for (size_t i = 0; i < n; ++i) symbolizer.Symbolize(path, pcs[i]).IgnoreError();
  size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(symbolizer.Symbolize(path, pcs[next]));
    if (++next == n) next = 0;
  }
}

std::string TestdataExe() {
  std::filesystem::path build;
  if (const char* dir = std::getenv("ATR_BUILD_DIR"); dir != nullptr && *dir != '\0') {
    build = dir;
  } else {
    build = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path();
  }
  return (build / "programs" / "symbolizer_testdata").string();
}

}  // namespace
}  // namespace atr

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<std::string> modules(argv + 1, argv + argc);
  if (modules.empty()) {
    modules = {atr::TestdataExe(), "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
               "/lib/x86_64-linux-gnu/libc.so.6"};
  }
  for (const std::string& path : modules) {
    // RegisterBenchmark copies its arguments.
    const std::vector<uint64_t> pcs = atr::AddressesIn(path);
    if (pcs.empty()) continue;
    const std::string name = std::filesystem::path(path).filename().string();
    benchmark::RegisterBenchmark(("FirstLoad/" + name).c_str(), atr::FirstLoad, path, pcs[0])
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Uncached/" + name).c_str(), atr::Uncached, path, pcs)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("Cached/" + name).c_str(), atr::Cached, path, pcs)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
