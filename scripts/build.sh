#!/usr/bin/env bash
# Installs dependencies (scripts/setup.sh) and builds atr into build/.
# Incremental: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
werror=OFF; [[ "${CI:-}" == "true" ]] && werror=ON
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -G Ninja -DATR_WERROR=$werror >/dev/null
fi
cmake --build build -j"${ATR_JOBS:-2}"
