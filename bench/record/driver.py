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
ATR = os.path.join(BUILD, "bin", "atr")
# Mode "atr-before": the same measurements with another atr binary (an older
# build), alternated with the others, for before/after tables.
ATR_BEFORE = os.environ.get("ATR_BENCH_ATR_BEFORE", "")
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


def target_exit(exe):
    """(latest exit time, summed CPU ns) over the processes of the target's executable."""
    best, cpu = None, 0
    try:
        with open(STAMP_FILE) as f:
            for line in f:
                path, ns, cpu_ns = line.rstrip("\n").rsplit(" ", 2)
                if path == exe:
                    best = max(best or 0, int(ns))
                    cpu += int(cpu_ns)
    except FileNotFoundError:
        pass
    return best, cpu


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
        trace = os.path.join(WORK, mode + "." + w["name"] + ".db")
        env["ATR_RECORD_TIMINGS"] = "1"
        binary = ATR
        if mode == "atr-before":
            binary = ATR_BEFORE
            env["ATR_PRELOAD"] = os.path.join(BUILD, "lib", "libatr_preload.so")
        cmd = [binary, "record", "-q", "--force", "-o", trace, "--"] + w["cmd"]
        out["trace"] = trace
    errf = open(os.path.join(WORK, "stderr"), "w+")
    t0 = time.time_ns()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf)
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.time_ns()
    errf.seek(0)
    stderr = errf.read()
    errf.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(stderr[-2000:])
        raise SystemExit(f"{w['name']} {mode}: exit {os.waitstatus_to_exitcode(status)}")
    exe = os.path.realpath(shutil.which(w["cmd"][0]) or w["cmd"][0])
    stamp, cpu = target_exit(exe)
    out["done"] = (t1 - t0) / 1e9
    out["target"] = (stamp - t0) / 1e9 if stamp else out["done"]
    # CPU seconds: the target's own, and the whole tracer tree's (target,
    # tracer, interpreter, compressor) until the output is complete. On a
    # shared 2-core machine these are far steadier than wall times.
    out["target_cpu"] = cpu / 1e9 if cpu else float("nan")
    out["done_cpu"] = ru.ru_utime + ru.ru_stime
    if mode.startswith("atr"):
        m = re.search(r"atr-timings: (.*)", stderr)
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
            line = "  ".join(f"{m}={res[m][-1]['target']:.2f}/{res[m][-1]['done']:.2f}"
                             f"(cpu {res[m][-1]['target_cpu']:.2f}/{res[m][-1]['done_cpu']:.2f})"
                             for m in MODES)
            print(f"# {w['name']} round {r + 1}/{ROUNDS}: target/done s: {line}", flush=True)
        results[w["name"]] = res

    nan = float("nan")
    print()
    print("Medians. target = the program until it exits; done = until the tracer's output is "
          "complete (heaptrack: interpreted + compressed; atr: symbolized, paired, indexed). "
          "Wall s, then CPU s (user+sys; for done: the whole tracer process tree).")
    print()
    print("| workload | mode | target wall | target CPU | done wall | done CPU | events | B/event "
          "| collector peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for name, res in results.items():
        for mode in MODES:
            rows = res[mode]
            ev = med(rows, "events")
            by = med(rows, "bytes")
            extra = (f"{ev / 1e6:.2f} M | {by / ev:.1f} | {med(rows, 'collector_peak_rss_mb'):.0f}"
                     if ev == ev and ev else " | | ")
            print(f"| {name} | {mode} | {med(rows, 'target'):.2f} | {med(rows, 'target_cpu'):.2f} "
                  f"| {med(rows, 'done'):.2f} | {med(rows, 'done_cpu'):.2f} | {extra} |")
        if "heaptrack" not in res or "native" not in res:
            continue
        for mode in [m for m in MODES if m.startswith("atr")]:
            v = {"workload": name, "mode": mode}
            for kind, key in (("wall", "target"), ("CPU", "target_cpu")):
                n, h, a = (med(res[m], key) for m in ("native", "heaptrack", mode))
                v["ratio " + kind] = (a - n) / (h - n) if h > n else nan
            for kind, key in (("wall", "done"), ("CPU", "done_cpu")):
                v["done " + kind] = med(res[mode], key) / med(res["heaptrack"], key)
            ev = med(res[mode], "events")
            v["B/event"] = med(res[mode], "bytes") / ev if ev else nan
            verdicts.append(v)
    if verdicts:
        print()
        print("Targets: slowdown ratio = (atr - native) / (heaptrack - native) <= 0.25; "
              "trace done atr / heaptrack <= 1; <= 32 B/event.")
        print()
        print("| workload | mode | slowdown ratio wall | slowdown ratio CPU | done atr/heaptrack wall "
              "| done atr/heaptrack CPU | B/event |")
        print("|---|---|---|---|---|---|---|")
        for v in verdicts:
            mark = lambda x, lim: f"{x:.2f} {'met' if x <= lim else 'MISSED'}"
            print(f"| {v['workload']} | {v['mode']} | {mark(v['ratio wall'], 0.25)} "
                  f"| {mark(v['ratio CPU'], 0.25)} | {mark(v['done wall'], 1)} "
                  f"| {mark(v['done CPU'], 1)} | {mark(v['B/event'], 32)} |")


if __name__ == "__main__":
    main()
