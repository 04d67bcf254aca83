#!/usr/bin/env bash
# Sets everything up, builds, and runs `atr demo` on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/bin/atr demo "$@"
