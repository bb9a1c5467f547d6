#!/usr/bin/python3
"""Runs every benchmark of the multiprocessing issue side by side and prints one
markdown table per target: medians of --rounds rounds, concur and its peers
interleaved round by round so that a noisy spell hits everyone alike.

    bench/multiprocessing/run_all.py BUILD_DIR [--rounds 5] [--only rtt,map,submit,cpu,memory,broken]
                                     [--python PATH] [--method forkserver]

BUILD_DIR is a Release build holding bench/bench_multiprocessing. The Python
peers (peers_python.py) run under pyenv's python3 (the issue's "pyenv
python3"; Debian's /usr/bin/python3 if pyenv has none), with that Python's
default start method (fork, on 3.11). concur's pools use its default start
method (forkserver) unless --method says otherwise; the memory table has all
three. Nothing is pinned unless a table says so: the round trip is measured in
three layouts, the scheduler's choice ("default"), the caller on CPU 0 and the
worker on CPU 1 ("split"), and everything on CPU 0 ("same").
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def default_python():
    root = os.path.expanduser("~/.pyenv")
    pyenv = os.path.join(root, "libexec", "pyenv")
    if os.path.exists(pyenv):
        try:
            p = subprocess.run([pyenv, "which", "python3"], capture_output=True, text=True, check=True,
                               env=dict(os.environ, PYENV_ROOT=root)).stdout.strip()
            if p:
                return os.path.realpath(p)
        except (subprocess.CalledProcessError, OSError):
            pass
    return "/usr/bin/python3"


def run_json(cmd, timeout=600):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def med(v):
    return statistics.median(v) if v else float("nan")


def fmt(x):
    if x != x:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def table(title, unit, rows):
    print(f"\n### {title}\n")
    print(f"| program | median {unit} | min | max | rounds |")
    print("|---|---|---|---|---|")
    for name, samples in rows.items():
        if samples:
            print(f"| {name} | {fmt(med(samples))} | {fmt(min(samples))} | {fmt(max(samples))} | {len(samples)} |")


def ratio_line(label, a, b, target=None, higher_is_better=False):
    """a / b of medians; with a target, says whether it is met."""
    if not a or not b:
        return
    r = med(a) / med(b)
    verdict = ""
    if target is not None:
        ok = r >= target if higher_is_better else r <= target
        verdict = f" (target {'>=' if higher_is_better else '<='} {target}x: {'met' if ok else 'NOT met'})"
    print(f"- {label}: **{r:.2f}x**{verdict}")


def bench_rtt(b, py, rounds, method):
    layouts = ("default", "split", "same")
    rows = {}
    for _ in range(rounds):
        for layout in layouts:
            for r in run_json([b, "rtt", "20000", "--layout", layout] + method):
                rows.setdefault((layout, r["impl"]), []).append(r)
            for r in run_json([py, f"{HERE}/peers_python.py", "rtt", "5000", "--layout", layout]):
                rows.setdefault((layout, "python"), []).append(r)
    names = {"pipe": "floor: 64-byte pipe ping-pong", "socketpair": "64-byte Unix socketpair ping-pong",
             "concur": "concur ProcessPoolExecutor(1)", "python": "Python ProcessPoolExecutor(1)"}
    for layout in layouts:
        where = {"default": "default scheduling (nothing pinned)",
                 "split": "caller on CPU 0, worker / echo child on CPU 1",
                 "same": "everything on CPU 0"}[layout]
        for stat in ("mean_us", "p50_us"):
            t = {names[i]: [r[stat] for r in rows.get((layout, i), [])] for i in names}
            table(f"round trip, {where}: {stat.split('_')[0]} of each round's 20,000 (Python: 5,000) "
                  f"round trips", "us", t)
            conc, floor, pyv = t[names["concur"]], t[names["pipe"]], t[names["python"]]
            ratio_line(f"concur / pipe floor ({layout}, {stat.split('_')[0]})", conc, floor,
                       target=1.5 if layout == "default" else None)
            ratio_line(f"Python / concur ({layout}, {stat.split('_')[0]})", pyv, conc, target=10,
                       higher_is_better=True)
        p99 = {names[i]: [r["p99_us"] for r in rows.get((layout, i), [])] for i in names}
        print("\np99 (median over rounds): " + ", ".join(f"{k} {fmt(med(v))} us" for k, v in p99.items() if v))


def bench_map(b, py, rounds, method):
    rows = {"concur ProcessPoolExecutor.map (auto chunks)": [], "Python ProcessPoolExecutor.map(chunksize=1000)": [],
            "Python multiprocessing.Pool(2).map": []}
    first = {k: [] for k in rows}
    keys = list(rows)
    for _ in range(rounds):
        for key, cmd in zip(keys, ([b, "map", "100000"] + method,
                                   [py, f"{HERE}/peers_python.py", "map", "100000"],
                                   [py, f"{HERE}/peers_python.py", "pool-map", "100000"])):
            r = run_json(cmd)[-1]
            rows[key].append(r["seconds"] * 1e3)
            first[key].append(r["first_s"] * 1e3)
    table("100,000 trivial tasks through map, 2 workers (median of 3 runs per process)", "ms", rows)
    ratio_line("Python executor.map(chunksize=1000) / concur", rows[keys[1]], rows[keys[0]], 10, True)
    ratio_line("Python Pool(2).map / concur", rows[keys[2]], rows[keys[0]], 3, True)
    table("the same, first run in each process only", "ms", first)
    ratio_line("first run: Python executor.map / concur", first[keys[1]], first[keys[0]])
    ratio_line("first run: Python Pool(2).map / concur", first[keys[2]], first[keys[0]])


def bench_submit(b, py, rounds, method):
    rows = {"concur ProcessPoolExecutor": [], "Python ProcessPoolExecutor": []}
    sub = {"concur: the submit loop alone": [], "Python: the submit loop alone": []}
    for _ in range(rounds):
        r = run_json([b, "submit", "20000"] + method)[-1]
        rows["concur ProcessPoolExecutor"].append(r["seconds"] * 1e3)
        sub["concur: the submit loop alone"].append(r["submit_seconds"] * 1e3)
        r = run_json([py, f"{HERE}/peers_python.py", "submit", "20000"])[-1]
        rows["Python ProcessPoolExecutor"].append(r["seconds"] * 1e3)
    table("20,000 submits, then every result(), 2 workers (median of 3 runs per process)", "ms", rows)
    ratio_line("Python / concur", rows["Python ProcessPoolExecutor"], rows["concur ProcessPoolExecutor"], 30, True)
    print(f"\nconcur's submit loop alone (median): {fmt(med(sub['concur: the submit loop alone']))} ms")


def bench_cpu(b, rounds, method):
    rows = {k: [] for k in ("sequential", "2 processes, one submit per number", "2 processes, map(chunksize=1)",
                            "2 processes, map (automatic chunksize)",
                            "reference: 2 plain fork()ed processes, static split")}
    sp = {k: [] for k in ("submit", "map1", "map_auto", "plain_fork")}
    base = "0"
    for _ in range(rounds):
        r = run_json([b, "cpu", base] + method)[-1]
        base = str(r["base"])  # calibrated in the first round, then fixed
        rows["sequential"].append(r["sequential_s"])
        rows["2 processes, one submit per number"].append(r["submit_s"])
        rows["2 processes, map(chunksize=1)"].append(r["map1_s"])
        rows["2 processes, map (automatic chunksize)"].append(r["map_auto_s"])
        rows["reference: 2 plain fork()ed processes, static split"].append(r["plain_fork_s"])
        for k in sp:
            sp[k].append(r[f"speedup_{k}"])
    table(f"the seeds' CPU workload: sum of i*i for i < n over 20 numbers n = {int(base):,} + x", "s", rows)
    for k, label in (("submit", "one submit per number"), ("map1", "map(chunksize=1)"),
                     ("map_auto", "map, automatic chunks (one per number here: 20 chunks over 2 workers)"),
                     ("plain_fork", "reference, 2 plain fork()ed processes")):
        target = "" if k == "plain_fork" else f"; target >= 1.85x: {'met' if med(sp[k]) >= 1.85 else 'NOT met'}"
        print(f"- speedup, {label}: median of the rounds' speedups **{med(sp[k]):.2f}x** "
              f"(min {min(sp[k]):.2f}, max {max(sp[k]):.2f}{target})")


def bench_memory(b, py, rounds):
    rows = {}
    for _ in range(rounds):
        for r in run_json([b, "memory"]) + run_json([py, f"{HERE}/peers_python.py", "memory"]):
            rows.setdefault((r["impl"], r["method"]), []).append(r)
    print("\n### an idle pool worker's memory (/proc/PID/smaps_rollup, KiB; medians of the rounds)\n")
    print("| worker | start method | Private_Clean + Private_Dirty | Pss | Rss |")
    print("|---|---|---|---|---|")
    for (impl, method), rs in rows.items():
        print(f"| {impl} | {method} | {fmt(med([r['private_kib'] for r in rs]))} | "
              f"{fmt(med([r['pss_kib'] for r in rs]))} | {fmt(med([r['rss_kib'] for r in rs]))} |")
    fork = rows.get(("concur", "fork"))
    if fork:
        p = med([r["private_kib"] for r in fork])
        print(f"\n- concur fork worker private memory {p:,.0f} KiB (target <= 4,096 KiB: "
              f"{'met' if p <= 4096 else 'NOT met'})")


def bench_broken(b, py, rounds, method):
    rows = {"concur": [], "Python": []}
    for _ in range(rounds):
        r = run_json([b, "broken"] + method)[-1]
        assert r["broken"] == r["futures"], r
        rows["concur"].append(r["all_ms"])
        r = run_json([py, f"{HERE}/peers_python.py", "broken"])[-1]
        rows["Python"].append(r["all_ms"])
    table("SIGKILL one of 2 workers with 40 sleep(100 ms) calls pending: until every future has failed "
          "with BrokenProcessPool", "ms", rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="rtt,map,submit,cpu,memory,broken")
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--method", default="", help="concur's start method (default: concur's default)")
    a = ap.parse_args()
    b = os.path.join(a.build, "bench", "bench_multiprocessing")
    if not os.path.exists(b):
        sys.exit(f"{b} not found: ninja -C {a.build} bench_multiprocessing")
    method = ["--method", a.method] if a.method else []
    pyver = subprocess.run([a.python, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"multiprocessing benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"rounds={a.rounds}, peers: {a.python} ({pyver}), load average before: {os.getloadavg()[0]:.2f}")
    only = a.only.split(",")
    if "rtt" in only:
        bench_rtt(b, a.python, a.rounds, method)
    if "map" in only:
        bench_map(b, a.python, a.rounds, method)
    if "submit" in only:
        bench_submit(b, a.python, a.rounds, method)
    if "cpu" in only:
        bench_cpu(b, a.rounds, method)
    if "memory" in only:
        bench_memory(b, a.python, a.rounds)
    if "broken" in only:
        bench_broken(b, a.python, a.rounds, method)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
