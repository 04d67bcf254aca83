#!/usr/bin/env bash
# The unit tests (ctest label "unit") built with AddressSanitizer and
# UndefinedBehaviorSanitizer in their own tree, build-asan/, and run with
# both set to stop at the first error.
#
# Left out, and why:
#   - the integration tests, preload_test among them: they run programs
#     with libatr_preload.so injected by LD_PRELOAD, and ASan's runtime must
#     be the first library of a process, which an injected library in an
#     uninstrumented program cannot be;
#   - RealReplayTest: it replays into a real allocator (glibc's mallinfo2,
#     jemalloc preloaded into the replay driver), and under ASan malloc is
#     ASan's own;
#   - site_scanner_test: it drives clang's libTooling (uninstrumented), and
#     compiling clang's headers again would double this job's time;
#   - the benchmarks (ATR_BUILD_BENCH=OFF).
# Only C++ is instrumented (the flags go in CMAKE_CXX_FLAGS, which CMake
# also passes when linking C++ targets): the small C programs some unit tests
# analyse (tests/programs/stack_ops.c for frame_sizes_test) stay ordinary
# programs, like the ones atr records.
# Only the unit test binaries and what they link are built (target
# unit_tests minus site_scanner_test).
#
#   bash scripts/sanitize.sh            # ATR_ASAN_DIR=... to build elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${ATR_ASAN_DIR:-build-asan}
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if [[ ! -f "$dir/CMakeCache.txt" ]]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # -O1: fast enough to run, quick to compile; -g1: line numbers in reports.
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" -DATR_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DCMAKE_CXX_FLAGS="$sanitize" >/dev/null
fi
# The test binaries (build-asan/tests/NAME) that the phony target
# unit_tests stands for, following CMake's phony aliases down to them.
unit_test_binaries() {
  local target=unit_tests inputs
  while :; do
    mapfile -t inputs < <(ninja -C "$dir" -t query "$target" |
      sed -n '/^  input: phony$/,/^  outputs:$/s/^    //p')
    if ((${#inputs[@]} == 1)) && [[ ${inputs[0]} != tests/* ]]; then
      target=${inputs[0]}
      continue
    fi
    printf '%s\n' "${inputs[@]}"
    return
  done
}
mapfile -t targets < <(unit_test_binaries | sed -n 's|^tests/||p' | grep -vx site_scanner_test)
if ((${#targets[@]} == 0)); then
  echo "sanitize: no unit test targets found in $dir" >&2
  exit 1
fi
cmake --build "$dir" -j"${ATR_JOBS:-2}" --target "${targets[@]}"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
bash scripts/run_ctest.sh --test-dir "$dir" -L unit -E '^RealReplayTest[.]' -j2 --output-on-failure "$@"
