#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite through ctest
# (under CI=true, a test that did not run fails the run: scripts/run_ctest.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/thread_safety_check.sh build  # lock annotations, clang -Wthread-safety
bash scripts/run_ctest.sh --test-dir build -j2 --output-on-failure "$@"
