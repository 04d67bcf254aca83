#!/usr/bin/env bash
# Report latency: how long each `atr` report takes to answer on a trace of
# about 9 M events (alloc_heavy, bench/record/alloc_heavy.cc), beside
# heaptrack_print on heaptrack's recording of the same program.
# Results and their interpretation: docs/benchmarks.md, "Report latency".
#
#   bash bench/report/latency.sh              # 5 alternating rounds
#   ATR_BENCH_ROUNDS=9 bash bench/report/latency.sh
#   ATR_BENCH_ONLY=info,leaks,top bash bench/report/latency.sh
#   BUILD_DIR=/path/to/build ...              # default: build-perf next to the sources
#   ATR_BENCH_WORK=/tmp/lat ...               # where the trace and heaptrack file live
#   ATR_BENCH_NO_BUILD=1 ...                  # measure the binaries as they are
#
# The trace is recorded once (kept in $ATR_BENCH_WORK; delete it to record
# again, e.g. after a change to the allocation pass). `frag` and `report`
# read the built-in replay stored in the trace: it is run once beforehand
# and its time is not counted. `diff` compares the trace with itself (both
# sides read in full). Every command's output goes to /dev/null (`report`
# and `flamegraph` write their file to $ATR_BENCH_WORK).
# Targets (issue #5): info, leaks and top <= 0.3 s; every other report
# (counterfactual replays excepted) <= 2 s on 10 M events.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$SRC/build-perf}
WORK=${ATR_BENCH_WORK:-/tmp/lat}
ROUNDS=${ATR_BENCH_ROUNDS:-5}
mkdir -p "$WORK"

if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if [[ -z ${ATR_BENCH_NO_BUILD:-} ]]; then
  cmake --build "$BUILD" --target atr atr_preload atr-bench-alloc-heavy >/dev/null
fi
ATR=$BUILD/bin/atr
PROG=$BUILD/bench/atr-bench-alloc-heavy
TRACE=$WORK/alloc_heavy.db
HT=$WORK/alloc_heavy.heaptrack

if [[ ! -f $TRACE ]]; then
  echo "recording $TRACE" >&2
  "$ATR" record -q -o "$TRACE" -- "$PROG" >/dev/null
fi
if [[ $(sqlite3 "$TRACE" "SELECT count(*) FROM sqlite_schema WHERE name='replays'") == 0 ||
      $(sqlite3 "$TRACE" "SELECT count(*) FROM replays WHERE allocator='builtin'") == 0 ]]; then
  echo "storing the built-in replay in $TRACE (not timed)" >&2
  "$ATR" replay "$TRACE" >/dev/null
fi
HT_FILE=
if command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
  HT_FILE=$(ls "$HT".* 2>/dev/null | head -1 || true)
  if [[ -z $HT_FILE ]]; then
    echo "recording $HT with heaptrack" >&2
    heaptrack -o "$HT" "$PROG" >/dev/null 2>&1
    HT_FILE=$(ls "$HT".* | head -1)
  fi
else
  echo "heaptrack missing (bash scripts/setup.sh --bench): no heaptrack_print comparison" >&2
fi

# Any address of a block live at the peak, for `atr who`.
ADDR=$(sqlite3 "$TRACE" "SELECT printf('0x%x', addr) FROM event_log WHERE seq =
  (SELECT value FROM meta WHERE key = 'alloc_peak_live_seq')")
EVENTS=$(sqlite3 "$TRACE" "SELECT value FROM meta WHERE key = 'event_count'")

ATR="$ATR" TRACE="$TRACE" HT_FILE="$HT_FILE" ADDR="$ADDR" WORK="$WORK" ROUNDS="$ROUNDS" \
EVENTS="$EVENTS" ONLY="${ATR_BENCH_ONLY:-}" /usr/bin/python3 - <<'PY'
import os, statistics, subprocess, time

atr, trace, work = os.environ["ATR"], os.environ["TRACE"], os.environ["WORK"]
rounds = int(os.environ["ROUNDS"])
only = [x for x in os.environ["ONLY"].split(",") if x]
# (name, argv, target seconds)
cmds = [
    ("info", [atr, "info", trace], 0.3),
    ("leaks", [atr, "leaks", trace], 0.3),
    ("top", [atr, "top", trace], 0.3),
    ("temp", [atr, "temp", trace], 2),
    ("lifetimes", [atr, "lifetimes", trace], 2),
    ("sizes", [atr, "sizes", trace], 2),
    ("who", [atr, "who", trace, os.environ["ADDR"]], 2),
    ("timeline", [atr, "timeline", trace], 2),
    ("diff", [atr, "diff", trace, trace], 2),
    ("frag", [atr, "frag", "-q", trace], 2),
    ("flamegraph", [atr, "flamegraph", trace, "-o", os.path.join(work, "flame.svg")], 2),
    ("report", [atr, "report", trace, "-o", os.path.join(work, "report.html")], 2),
    ("report --no-replay", [atr, "report", "--no-replay", trace, "-o",
                            os.path.join(work, "report.html")], 2),
]
if os.environ["HT_FILE"]:
    cmds.append(("heaptrack_print", ["heaptrack_print", os.environ["HT_FILE"]], None))
if only:
    cmds = [c for c in cmds if c[0] in only]

def run(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    if status != 0:  # reported in the table, the other commands still run
        return err.strip().splitlines()[-1] if err.strip() else f"wait status {status}"
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024

res = {c[0]: [] for c in cmds}
failed = {}
for r in range(rounds):  # alternating: one run of each command per round
    for name, argv, _ in cmds:
        if name in failed:
            continue
        out = run(argv)
        if isinstance(out, str):
            failed[name] = out
        else:
            res[name].append(out)

def med(name, i):
    return statistics.median(x[i] for x in res[name])

print(f"trace: {trace}, {int(os.environ['EVENTS']):,} events; {rounds} rounds, medians; "
      f"load average {os.getloadavg()[0]:.1f}")
ht = med("heaptrack_print", 0) if res.get("heaptrack_print") else None
ht_cpu = med("heaptrack_print", 1) if ht else None
print("| command | wall s | CPU s | max RSS MB | target s | met | wall / heaptrack_print | CPU / heaptrack_print |")
print("|---|---|---|---|---|---|---|---|")
for name, _, target in cmds:
    if name in failed:
        print(f"| {name} | failed: {failed[name][:120]} | | | {target or ''} | | | |")
        continue
    w, c, m = med(name, 0), med(name, 1), med(name, 2)
    met = "" if target is None else ("yes" if w <= target else "**no**")
    ratio = f"{w / ht:.2f}" if ht and name != "heaptrack_print" else ""
    cratio = f"{c / ht_cpu:.2f}" if ht and name != "heaptrack_print" else ""
    print(f"| {name} | {w:.3f} | {c:.3f} | {m:.0f} | {target or ''} | {met} | {ratio} | {cratio} |")
PY
