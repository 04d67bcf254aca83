#!/usr/bin/env bash
# Per-event recording cost by unwinder: unwind_event_bench (malloc+free
# pairs ~20 frames deep) natively and under libatr_preload.so with
# ATR_UNWIND=none|fp|libunwind|table, modes alternated in each round;
# prints the median CPU and wall ns per pair over the rounds.
#
#   bash bench/unwind/run.sh [build dir, default build] [rounds, default 5]
# Environment: UNWIND_BENCH_PAIRS (default 1000000), UNWIND_BENCH_DEPTH (13).
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
modes=(native none fp libunwind table)
declare -A cpu wall
for ((r = 0; r < rounds; ++r)); do
  for ((i = 0; i < ${#modes[@]}; ++i)); do
    m=${modes[(i + r) % ${#modes[@]}]}  # rotate the order every round
    rm -rf "${spool:?}"/*
    if [[ $m == native ]]; then
      out=$("$prog" "$pairs" "$depth")
    else
      out=$(LD_PRELOAD=$preload ATR_SPOOL_DIR=$spool ATR_UNWIND=$m "$prog" "$pairs" "$depth")
    fi
    wall[$m]+="${out% *} "
    cpu[$m]+="${out#* } "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-10s %14s %14s\n' mode "cpu ns/pair" "wall ns/pair"
for m in "${modes[@]}"; do
  printf '%-10s %14s %14s\n' "$m" "$(echo "${cpu[$m]}" | median)" "$(echo "${wall[$m]}" | median)"
done
