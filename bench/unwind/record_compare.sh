#!/usr/bin/env bash
# Target slowdown by unwinder under `atr record`, next to native and
# heaptrack: the record benchmark's alloc_heavy workload, modes rotated in
# every round, the target's own CPU time (user+sys, from the exit stamp
# library bench/record/exit_stamp.c) and wall time; medians over rounds.
# `atr record` runs `env ATR_UNWIND=<mode> <workload>`, so one atr binary
# (any version that honours ATR_PRELOAD) measures every unwinder of the
# preload library built here.
#
#   bash bench/unwind/record_compare.sh BUILD_DIR ATR_BINARY [rounds, default 3]
# BUILD_DIR must hold lib/libatr_preload.so, bench/libatr_bench_exit_stamp.so
# and bench/atr-bench-alloc-heavy (targets atr_preload atr_bench_exit_stamp
# atr-bench-alloc-heavy). UNWIND_BEFORE_PRELOAD (a copy of an older
# libatr_preload.so) adds the mode "before": its table unwinder under the
# same atr binary, alternated with the others in every round.
set -euo pipefail
build=$(cd "$1" && pwd)
atr=$2
rounds=${3:-3}
prog=$build/bench/atr-bench-alloc-heavy
stamp_lib=$build/bench/libatr_bench_exit_stamp.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stamps=$work/stamps
source "$(dirname "$0")/rounds.sh"

run_mode() {  # mode -> "cpu_s wall_s" of the target process
  local m=$1 t0 line
  rm -f "$stamps" "$work"/ht.* "$work"/t.db*
  t0=$(date +%s%N)
  case $m in
    native) ATR_BENCH_STAMP=$stamps LD_PRELOAD=$stamp_lib "$prog" >/dev/null ;;
    heaptrack) ATR_BENCH_STAMP=$stamps LD_PRELOAD=$stamp_lib heaptrack -o "$work/ht" "$prog" \
      >/dev/null 2>&1 ;;
    before) ATR_BENCH_STAMP=$stamps LD_PRELOAD=$stamp_lib ATR_PRELOAD=$UNWIND_BEFORE_PRELOAD \
      "$atr" record -q --force -o "$work/t.db" -- env ATR_UNWIND=table "$prog" >/dev/null ;;
    *) ATR_BENCH_STAMP=$stamps LD_PRELOAD=$stamp_lib ATR_PRELOAD=$build/lib/libatr_preload.so \
      "$atr" record -q --force -o "$work/t.db" -- env ATR_UNWIND="$m" "$prog" >/dev/null ;;
  esac
  line=$(grep "^$(readlink -f "$prog") " "$stamps" | tail -1)
  awk -v t0="$t0" '{printf "%.3f %.3f\n", $3 / 1e9, ($2 - t0) / 1e9}' <<<"$line"
}

modes=(native heaptrack libunwind table)
[[ -n ${UNWIND_BEFORE_PRELOAD:-} ]] && modes+=(before)
rounds_table "$rounds" "target cpu s" "target wall s" "${modes[@]}"
