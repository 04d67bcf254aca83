#!/usr/bin/env bash
# Record benchmark: native vs heaptrack vs `atr record` on four workloads,
# plus the collector's ingest rate and its memory on the all-sizes program.
# Results and their interpretation: docs/benchmarks.md, section "Record".
#
#   bash bench/record/run.sh                 # 5 alternating rounds
#   ATR_BENCH_ROUNDS=3 ATR_BENCH_ONLY=alloc_heavy,sqlite_200k bash bench/record/run.sh
#   ATR_BENCH_MODES=native,atr ...           # skip heaptrack
#   ATR_BENCH_MODES=native,heaptrack,atr,atr-before ATR_BENCH_ATR_BEFORE=/old/build/bin/atr ...
#                                            # before/after, alternated in the same rounds
#   BUILD_DIR=/path/to/build ...             # default: build-perf next to the sources
#
# Needs heaptrack and hyperfine-free Debian packages: bash scripts/setup.sh --bench
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$SRC/build-perf}
WORK=${ATR_BENCH_WORK:-/tmp/atr-record-bench}
mkdir -p "$WORK"

if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if [[ -z ${ATR_BENCH_NO_BUILD:-} ]]; then  # set it to measure binaries as they are
  cmake --build "$BUILD" --target atr atr_preload atr-bench-alloc-heavy atr-bench-all-sizes \
    atr_bench_exit_stamp record_ingest_bench >/dev/null
fi

command -v heaptrack >/dev/null || { echo "heaptrack missing: bash scripts/setup.sh --bench" >&2; exit 1; }
[[ -x /usr/bin/clang++-14 && -x /usr/bin/sqlite3 && -x /usr/bin/python3 ]] || {
  echo "needs /usr/bin/clang++-14, /usr/bin/sqlite3, /usr/bin/python3 (scripts/setup.sh)" >&2; exit 1; }

# sqlite3 input: 200k single-row INSERTs in one transaction, then two indexes.
SQL=$WORK/sqlite_200k.sql
if [[ ! -f $SQL ]]; then
  /usr/bin/python3 - "$SQL" <<'PY'
import random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, tag TEXT);\nBEGIN;\n")
    for i in range(200000):
        f.write("INSERT INTO t(name, score, tag) VALUES('name%d', %f, 'tag%d');\n"
                % (r.randrange(10**9), r.random() * 1000, r.randrange(5000)))
    f.write("COMMIT;\nCREATE INDEX t_name ON t(name);\nCREATE INDEX t_tag_score ON t(tag, score);\n"
            "SELECT count(*), sum(score) FROM t;\n")
PY
fi

echo "== workloads (target = until the program exits; done = until the tracer's output is complete)"
ATR_BENCH_BUILD=$BUILD ATR_BENCH_SRC=$SRC ATR_BENCH_WORK=$WORK /usr/bin/python3 "$SRC/bench/record/driver.py"

echo
echo "== collector ingest: alloc_heavy's spool on disk -> trace (3 runs; median by ingest rate)"
SPOOL=$WORK/ingest.spool
rm -rf "$SPOOL" && mkdir -p "$SPOOL"
ATR_SPOOL_DIR=$SPOOL LD_PRELOAD=$BUILD/lib/libatr_preload.so "$BUILD/bench/atr-bench-alloc-heavy" >/dev/null
for i in 1 2 3; do
  "$BUILD/bench/record_ingest_bench" "$SPOOL" "$WORK/ingest.db"
done | sort -t= -k3 -n | sed -n 2p
rm -rf "$SPOOL" "$WORK/ingest.db"

echo
echo "== collector memory: every size 16..512 from 300 stacks (atr only; heaptrack 1.4 needs > 18 GB)"
for rounds in 5 20; do
  ATR_RECORD_TIMINGS=1 "$BUILD/bin/atr" record -q --force -o "$WORK/all_sizes.db" -- \
    "$BUILD/bench/atr-bench-all-sizes" "$rounds" 2>&1 >/dev/null | grep atr-timings |
    sed "s/^/rounds=$rounds /"
done
rm -f "$WORK/all_sizes.db"
