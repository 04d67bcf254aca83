#!/usr/bin/env bash
# Per-event recording cost by unwinder: unwind_event_bench (malloc+free
# pairs ~20 frames deep) natively and under libatr_preload.so with
# ATR_UNWIND=none|fp|libunwind|table, modes alternated in each round;
# prints the median CPU and wall ns per pair over the rounds.
#
#   bash bench/unwind/run.sh [build dir, default build] [rounds, default 5]
# Environment: UNWIND_BENCH_PAIRS (default 1000000), UNWIND_BENCH_DEPTH (13),
# UNWIND_BENCH_MODES (default "native none fp libunwind table"),
# UNWIND_BEFORE_PRELOAD (a copy of an older libatr_preload.so: adds the mode
# "before", its table unwinder, alternated with the others in every round;
# UNWIND_BEFORE_MODE picks another of its unwinders, e.g. none for the cost
# outside the stack walk).
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
pairs=${UNWIND_BENCH_PAIRS:-1000000}
depth=${UNWIND_BENCH_DEPTH:-13}
prog=$build/bench/unwind_event_bench
preload=$build/lib/libatr_preload.so
[[ -x $prog && -f $preload ]] || {
  echo "build $prog and $preload first (cmake --build $build --target unwind_event_bench atr_preload)" >&2
  exit 1
}
spool=$(mktemp -d)
trap 'rm -rf "$spool"' EXIT
source "$(dirname "$0")/rounds.sh"
run_mode() {  # prints "<cpu ns> <wall ns>" per pair
  local out
  rm -rf "${spool:?}"/*
  if [[ $1 == native ]]; then
    out=$("$prog" "$pairs" "$depth")
  elif [[ $1 == before ]]; then
    out=$(LD_PRELOAD=$UNWIND_BEFORE_PRELOAD ATR_SPOOL_DIR=$spool ATR_UNWIND=${UNWIND_BEFORE_MODE:-table} \
      "$prog" "$pairs" "$depth")
  else
    out=$(LD_PRELOAD=$preload ATR_SPOOL_DIR=$spool ATR_UNWIND=$1 "$prog" "$pairs" "$depth")
  fi
  echo "${out#* } ${out% *}"
}
read -ra modes <<<"${UNWIND_BENCH_MODES:-native none fp libunwind table}"
[[ -n ${UNWIND_BEFORE_PRELOAD:-} ]] && modes+=(before)
rounds_table "$rounds" "cpu ns/pair" "wall ns/pair" "${modes[@]}"
