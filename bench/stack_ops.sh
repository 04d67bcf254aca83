#!/bin/sh
# Cost of recording function enter/exit (--stack-ops), side by side:
#   native          stack_ops_fib_native (no -finstrument-functions)
#   instrumented    stack_ops_fib_instrumented, glibc's empty hooks
#   atr (target)    the same under libatr_preload.so with ATR_STACK_OPS=1,
#                   spool only (what the target pays; no collector)
#   atr before      the same with another build's preload library, when
#                   ATR_BENCH_BEFORE_PRELOAD names one (before/after rows
#                   measured in the same rounds, under the same load)
#   atr record      `atr record --stack-ops`: same, with the collector running
#   uftrace         `uftrace record` (if installed)
# Each line: the program's own best loop time per call (3 reps inside, the
# median of RUNS runs), in the calling thread's CPU time: on the shared,
# loaded VM wall time mostly measures waiting for a core. The thread's CPU
# time includes the spool writes atr makes from it; uftrace's recorder
# process writes its buffers to disk on its own time, not counted. Usage: bench/stack_ops.sh BUILD_DIR [n=30] [runs=5]
set -eu
B=${1:?build dir}
N=${2:-30}
RUNS=${3:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
per_call() { sed -n 's/.* ns_per_call=\([0-9.]*\).*/\1/p'; }
run() {  # label, then the command
  label=$1; shift
  i=0; : > "$T/v"
  while [ $i -lt "$RUNS" ]; do
    "$@" 2>/dev/null | per_call >> "$T/v"
    rm -rf "$T/spool" "$T/run.db" "$T/run.db.spool" "$T/uftrace.data"
    mkdir -p "$T/spool"
    i=$((i + 1))
  done
  printf '%-28s %8s ns/call\n' "$label" "$(median < "$T/v")"
}
mkdir -p "$T/spool"
echo "fib($N), median of $RUNS runs, best of 3 loops each"
run "native" "$B/bench/stack_ops_fib_native" "$N"
run "instrumented (no tool)" "$B/bench/stack_ops_fib_instrumented" "$N"
if [ -n "${ATR_BENCH_BEFORE_PRELOAD:-}" ]; then
  run "atr preload (before)" env LD_PRELOAD="$ATR_BENCH_BEFORE_PRELOAD" \
    ATR_SPOOL_DIR="$T/spool" ATR_STACK_OPS=1 "$B/bench/stack_ops_fib_instrumented" "$N"
fi
run "atr preload, spool only" env LD_PRELOAD="$B/lib/libatr_preload.so" \
  ATR_SPOOL_DIR="$T/spool" ATR_STACK_OPS=1 "$B/bench/stack_ops_fib_instrumented" "$N"
run "atr record --stack-ops" "$B/bin/atr" record -q --stack-ops --no-symbolize \
  -o "$T/run.db" -- "$B/bench/stack_ops_fib_instrumented" "$N"
if command -v uftrace > /dev/null 2>&1; then
  run "uftrace record" uftrace record -d "$T/uftrace.data" \
    "$B/bench/stack_ops_fib_instrumented" "$N"
else
  echo "uftrace                      not installed"
fi
