#!/usr/bin/env bash
# Installs every Debian package atr needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt, and the package
# index is refreshed only when something is missing.
set -euo pipefail

BUILD_PACKAGES=(
  cmake g++ pkg-config ninja-build
  llvm-14-dev libclang-14-dev clang-14
  libcapstone-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libunwind-dev libcli11-dev libzstd-dev
)
# Programs the integration tests record and the real allocators replays use.
# Programs built against jemalloc/tcmalloc/mimalloc need their -dev packages;
# redis-server (linked to jemalloc) is recorded under redis-benchmark.
TEST_PACKAGES=(
  python3 libjemalloc2 libgoogle-perftools4 libmimalloc2.0 chromium
  libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev redis-server redis-tools
)
# Peers for the benchmarks in bench/ (not needed by the tests).
BENCH_PACKAGES=(heaptrack valgrind hyperfine)

want=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${BENCH_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi
