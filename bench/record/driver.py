#!/usr/bin/python3
"""Alternating benchmark loop for `atr record` vs heaptrack vs native.

Called by bench/record/run.sh (which builds and sets the environment); see
docs/benchmarks.md, section "Record". Prints a table of medians and the
targets' ratios. Measurement rules: every round runs each mode once, in a
rotated order, so background load hits all modes alike; medians over rounds.

t_target: launch -> the target program's exit (from exit_stamp.so, preloaded
          in every mode: the tracers' at-exit flushes and heaptrack's pipe
          back-pressure are included).
t_done:   launch -> the tracer's command returns: for heaptrack its
          interpreted, compressed output; for atr the finished trace
          (symbolized, paired, indexed, ANALYZEd).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

BUILD = os.environ["ATR_BENCH_BUILD"]
SRC = os.environ["ATR_BENCH_SRC"]
WORK = os.environ["ATR_BENCH_WORK"]
ROUNDS = int(os.environ.get("ATR_BENCH_ROUNDS", "5"))
ONLY = os.environ.get("ATR_BENCH_ONLY", "")  # comma-separated workload names
MODES = os.environ.get("ATR_BENCH_MODES", "native,heaptrack,atr").split(",")
ATR = os.environ.get("ATR_BENCH_ATR") or os.path.join(BUILD, "bin", "atr")  # another build to compare
STAMP_LIB = os.path.join(BUILD, "bench", "libatr_bench_exit_stamp.so")
STAMP_FILE = os.path.join(WORK, "stamps")


def workloads():
    sql = os.path.join(WORK, "sqlite_200k.sql")
    sqlite_db = os.path.join(WORK, "sqlite_workload.db")
    return [
        dict(name="alloc_heavy", cmd=[os.path.join(BUILD, "bench", "atr-bench-alloc-heavy")]),
        dict(name="python_dicts",
             cmd=["/usr/bin/python3", os.path.join(SRC, "bench/record/python_dicts.py")],
             env={"PYTHONMALLOC": "malloc"}),
        dict(name="sqlite_200k", cmd=["/usr/bin/sqlite3", sqlite_db, ".read " + sql],
             before=lambda: os.path.exists(sqlite_db) and os.unlink(sqlite_db)),
        dict(name="clang_syntax",
             cmd=["/usr/bin/clang++-14", "-fsyntax-only", "-std=c++20",
                  os.path.join(SRC, "bench/record/heavy_headers.cc")]),
    ]


def target_exit_ns(exe):
    """Latest exit stamp of the target's executable (children of the same exe count)."""
    best = None
    try:
        with open(STAMP_FILE) as f:
            for line in f:
                path, _, ns = line.rstrip("\n").rpartition(" ")
                if path == exe:
                    best = max(best or 0, int(ns))
    except FileNotFoundError:
        pass
    return best


def run_once(w, mode):
    if "before" in w:
        w["before"]()
    if os.path.exists(STAMP_FILE):
        os.unlink(STAMP_FILE)
    env = dict(os.environ)
    env.update(w.get("env", {}))
    env["ATR_BENCH_STAMP"] = STAMP_FILE
    env["LD_PRELOAD"] = STAMP_LIB
    out = {}
    if mode == "native":
        cmd = list(w["cmd"])
    elif mode == "heaptrack":
        ht = os.path.join(WORK, "ht." + w["name"])
        for f in os.listdir(WORK):
            if f.startswith("ht." + w["name"]):
                os.unlink(os.path.join(WORK, f))
        cmd = ["heaptrack", "-o", ht] + w["cmd"]
    else:
        trace = os.path.join(WORK, "atr." + w["name"] + ".db")
        env["ATR_RECORD_TIMINGS"] = "1"
        cmd = [ATR, "record", "-q", "--force", "-o", trace, "--"] + w["cmd"]
        out["trace"] = trace
    t0 = time.time_ns()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t1 = time.time_ns()
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-2000:])
        raise SystemExit(f"{w['name']} {mode}: exit {p.returncode}")
    exe = os.path.realpath(shutil.which(w["cmd"][0]) or w["cmd"][0])
    stamp = target_exit_ns(exe)
    out["done"] = (t1 - t0) / 1e9
    out["target"] = (stamp - t0) / 1e9 if stamp else out["done"]
    if mode == "atr":
        m = re.search(r"atr-timings: (.*)", p.stderr)
        if m:
            for kv in m.group(1).split():
                k, v = kv.split("=")
                out[k] = float(v)
        out["bytes"] = os.path.getsize(out["trace"])
    return out


def med(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else float("nan")


def main():
    results = {}
    ws = [w for w in workloads() if not ONLY or w["name"] in ONLY.split(",")]
    for w in ws:
        res = {m: [] for m in MODES}
        for r in range(ROUNDS):
            order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
            for mode in order:
                res[mode].append(run_once(w, mode))
            line = "  ".join(f"{m}={res[m][-1]['target']:.2f}/{res[m][-1]['done']:.2f}" for m in MODES)
            print(f"# {w['name']} round {r + 1}/{ROUNDS}: target/done s: {line}", flush=True)
        results[w["name"]] = res

    print()
    print("| workload | native s | heaptrack s (target / output done) | atr s (target / trace done) "
          "| slowdown ratio (≤ 0.25) | trace done: atr / heaptrack (≤ 1) | events | B/event "
          "| collector peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = []
    for name, res in results.items():
        n = med(res.get("native", []), "target")
        ht = med(res.get("heaptrack", []), "target")
        htd = med(res.get("heaptrack", []), "done")
        a = med(res.get("atr", []), "target")
        ad = med(res.get("atr", []), "done")
        ev = med(res.get("atr", []), "events")
        by = med(res.get("atr", []), "bytes")
        rss = med(res.get("atr", []), "collector_peak_rss_mb")
        ratio = (a - n) / (ht - n) if ht == ht and ht > n else float("nan")
        done_ratio = ad / htd if htd == htd else float("nan")
        summary.append((name, ratio, done_ratio, by / ev if ev else float("nan")))
        print(f"| {name} | {n:.3f} | {ht:.3f} / {htd:.3f} | {a:.3f} / {ad:.3f} | {ratio:.3f} "
              f"| {done_ratio:.2f} | {ev / 1e6:.2f} M | {by / ev if ev else float('nan'):.1f} "
              f"| {rss:.0f} |")
    print()
    for name, ratio, done_ratio, bpe in summary:
        ok = lambda c: "met" if c else "MISSED"
        print(f"{name}: slowdown ratio {ratio:.3f} {ok(ratio <= 0.25)}; "
              f"trace done vs heaptrack {done_ratio:.2f} {ok(done_ratio <= 1.0)}; "
              f"{bpe:.1f} B/event {ok(bpe <= 32)}")


if __name__ == "__main__":
    main()
