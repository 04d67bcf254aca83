#!/usr/bin/env bash
# Scan time of `atr sites` against `clang++-14 -fsyntax-only` over the same
# translation units, both two files at a time (docs/benchmarks.md, "Source
# sites").
#
#   bench/sites_bench.sh ATR BUILD_DIR [PATH_PART...]
#
# BUILD_DIR holds compile_commands.json (atr's own build is a realistic
# corpus: C++20 with Abseil, GoogleTest, CLI11 and LLVM headers). Only files
# whose path contains one of PATH_PART are used (default: all). Each side
# runs RUNS times (default 3); the minimum and the median are printed.
set -euo pipefail
atr=$1; build=$2; shift 2
parts=("$@")
runs=${RUNS:-3}
jobs=${JOBS:-2}
db="$build/compile_commands.json"
[[ -f $db ]] || { echo "no $db" >&2; exit 1; }
work=$(mktemp -d /tmp/atr_sites_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One clang -fsyntax-only command per file, the first command of each file
# (atr sites does the same), with the flags atr adds (-w, no carets).
python3 - "$db" "$work/commands.sh" "${parts[@]}" <<'PY'
import json, shlex, sys
db, out, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
seen, lines = set(), []
for e in json.load(open(db)):
    f = e["file"]
    if f in seen or (parts and not any(p in f for p in parts)):
        continue
    if not f.endswith((".c", ".cc", ".cpp", ".cxx")):
        continue
    seen.add(f)
    args = e.get("arguments") or shlex.split(e["command"])
    cc = "clang-14" if f.endswith(".c") else "clang++-14"
    keep, skip = [], False
    for a in args[1:]:
        if skip: skip = False; continue
        if a in ("-o", "-MF", "-MT", "-MQ"): skip = True; continue
        if a in ("-c", "-MD", "-MMD"): continue
        keep.append(a)
    cmd = [cc] + keep + ["-fsyntax-only", "-w", "-fno-caret-diagnostics"]
    lines.append("cd %s && %s" % (shlex.quote(e["directory"]), " ".join(map(shlex.quote, cmd))))
open(out, "w").write("\n".join(lines) + "\n")
print(len(lines), file=sys.stderr)
PY
files=$(wc -l < "$work/commands.sh")
only=()
for p in "${parts[@]}"; do only+=(--only "$p"); done

stats() { sort -n | awk '{a[NR]=$1; all=all sprintf(" %.1f", $1)} END {printf "min %.2f s, median %.2f s (runs:%s)", a[1], (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), all}'; }
time_of() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }

echo "files: $files, jobs: $jobs, runs: $runs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
clang_times=() atr_times=()
for ((i = 0; i < runs; ++i)); do
  clang_times+=("$(time_of xargs -P "$jobs" -d '\n' -I{} sh -c '{}' < "$work/commands.sh")")
  rm -f "$work/sites.db"
  atr_times+=("$(time_of "$atr" sites -q -j "$jobs" -p "$build" "${only[@]}" -o "$work/sites.db")")
done
echo "clang++-14 -fsyntax-only: $(printf '%s\n' "${clang_times[@]}" | stats)"
echo "atr sites:                $(printf '%s\n' "${atr_times[@]}" | stats)"
echo "sites found: $(sqlite3 "$work/sites.db" 'SELECT count(*) FROM sites'), load after: $(cut -d' ' -f1-3 /proc/loadavg)"
