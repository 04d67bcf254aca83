#!/usr/bin/env bash
# Runs ctest with the given arguments (add --test-dir DIR) and passes its
# exit status on. Under CI=true it also fails when ctest's summary lists any
# test that did not run: skipped (GTEST_SKIP, SKIP_RETURN_CODE,
# SKIP_REGULAR_EXPRESSION), disabled (DISABLED_ tests) or not built. CI
# installs every dependency (scripts/setup.sh), so a test that did not run
# there is a test that hides a failure.
#
#   bash scripts/run_ctest.sh --test-dir build -j2 --output-on-failure
set -euo pipefail
if [[ "${CI:-}" != "true" ]]; then
  exec ctest --no-tests=error "$@"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --no-tests=error "$@" 2>&1 | tee "$log" || status=$?
if grep -q "The following tests did not run:" "$log"; then
  echo "run_ctest: under CI=true every test must run; the ones listed above did not" >&2
  exit 1
fi
exit "$status"
