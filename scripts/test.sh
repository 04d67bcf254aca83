#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build -j2 --output-on-failure "$@"
