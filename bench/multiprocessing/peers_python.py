#!/usr/bin/env python3
"""Python's side of the multiprocessing benchmarks: the same measurements as
bench_multiprocessing (concur), with concurrent.futures and multiprocessing.

    peers_python.py rtt [N]          ProcessPoolExecutor(1): submit(trivial).result(), warm
                                     (--layout default|split|same, as bench_multiprocessing)
    peers_python.py map [N] [R]      ProcessPoolExecutor(2).map(trivial, range(N), chunksize=1000)
    peers_python.py pool-map [N] [R] multiprocessing.Pool(2).map(trivial, range(N)) (automatic chunksize)
    peers_python.py submit [N] [R]   N submits to ProcessPoolExecutor(2), then every result()
                                     (map, pool-map, submit: R runs in one pool, default 3; the
                                     median is reported, and the first run beside it)
    peers_python.py memory           an idle worker's /proc/PID/smaps_rollup, per start method
    peers_python.py broken           SIGKILL a worker with tasks pending: time until BrokenProcessPool

--method fork|spawn|forkserver picks the pools' start method (default: this
Python's default; 3.11 on Linux: fork). Pools are started and warmed up before
the clock starts. One JSON object per line. The worker functions are
module-level, as multiprocessing requires.
"""
import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
import sys
import time


def trivial(x):
    return x


def sleep_ms(ms):
    time.sleep(ms / 1000)
    return ms


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def ctx(method):
    return multiprocessing.get_context(method) if method else multiprocessing.get_context()


def out(d):
    print(json.dumps(d), flush=True)


def warm(ex):
    list(ex.map(trivial, range(2000), chunksize=100))
    for f in [ex.submit(trivial, i) for i in range(200)]:
        f.result()


def bench_rtt(n, method, layout="default"):
    warmup = max(1000, n // 10)
    us = []
    if layout in ("split", "same"):
        os.sched_setaffinity(0, {0})  # before any thread or child exists: they inherit it
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx(method)) as ex:
        ex.submit(trivial, 0).result()
        if layout == "split":
            for pid in ex._processes:
                os.sched_setaffinity(pid, {1})
        for i in range(warmup):
            assert ex.submit(trivial, i).result() == i
        clock = time.perf_counter
        for i in range(n):
            t0 = clock()
            r = ex.submit(trivial, i).result()
            us.append((clock() - t0) * 1e6)
            assert r == i
    out({"bench": "rtt", "impl": "python", "layout": layout, "method": ctx(method).get_start_method(), "n": n,
         "mean_us": sum(us) / len(us), "p50_us": percentile(us, 0.5), "p90_us": percentile(us, 0.9),
         "p99_us": percentile(us, 0.99), "min_us": min(us)})


def timed(repeat, run):
    """Runs run() `repeat` times; (median seconds, first, min)."""
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        walls.append(time.perf_counter() - t0)
    return percentile(walls, 0.5), walls[0], min(walls)


def report(bench, impl, method, n, repeat, walls, **extra):
    s, first, best = walls
    out(dict({"bench": bench, "impl": impl, "method": ctx(method).get_start_method(), "n": n, "repeat": repeat,
              "seconds": s, "first_s": first, "min_s": best, "tasks_per_s": n / s}, **extra))


def bench_map(n, method, repeat):
    def run():
        total = count = 0
        for r in ex.map(trivial, range(n), chunksize=1000):
            total += r
            count += 1
        assert count == n and total == n * (n - 1) // 2
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx(method)) as ex:
        warm(ex)
        walls = timed(repeat, run)
    report("map", "python-executor", method, n, repeat, walls)


def bench_pool_map(n, method, repeat):
    def run():
        r = pool.map(trivial, range(n))
        assert len(r) == n and sum(r) == n * (n - 1) // 2
    with ctx(method).Pool(2) as pool:
        pool.map(trivial, range(2000))
        walls = timed(repeat, run)
    report("map", "python-pool", method, n, repeat, walls)


def bench_submit(n, method, repeat):
    def run():
        fs = [ex.submit(trivial, i) for i in range(n)]
        assert sum(f.result() for f in fs) == n * (n - 1) // 2
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx(method)) as ex:
        warm(ex)
        walls = timed(repeat, run)
    report("submit", "python", method, n, repeat, walls)


def smaps_rollup(pid):
    kb = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                kb[parts[0][:-1]] = int(parts[1])
    return kb


def bench_memory(_n, _method):
    for method in ("fork", "forkserver", "spawn"):
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method)) as ex:
            for i in range(100):
                ex.submit(trivial, i).result()
            time.sleep(0.3)
            pid = next(iter(ex._processes))
            kb = smaps_rollup(pid)
            out({"bench": "memory", "impl": "python", "method": method, "pid": pid, "rss_kib": kb["Rss"],
                 "pss_kib": kb["Pss"], "private_clean_kib": kb["Private_Clean"],
                 "private_dirty_kib": kb["Private_Dirty"],
                 "private_kib": kb["Private_Clean"] + kb["Private_Dirty"],
                 "shared_kib": kb["Shared_Clean"] + kb["Shared_Dirty"]})


def bench_broken(_n, method):
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx(method)) as ex:
        warm(ex)
        fs = [ex.submit(sleep_ms, 100) for _ in range(40)]
        time.sleep(0.03)
        victim = next(iter(ex._processes))
        t0 = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        broken = 0
        first = None
        for f in [fs[-1]] + fs[:-1]:
            try:
                f.result(timeout=10)
            except cf.process.BrokenProcessPool:
                broken += 1
            if first is None:
                first = time.perf_counter() - t0
        allt = time.perf_counter() - t0
    out({"bench": "broken", "impl": "python", "method": ctx(method).get_start_method(), "futures": len(fs),
         "broken": broken, "first_ms": first * 1e3, "all_ms": allt * 1e3})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("rtt", "map", "pool-map", "submit", "memory", "broken"))
    ap.add_argument("n", nargs="?", type=int)
    ap.add_argument("repeat", nargs="?", type=int, default=3, help="map, pool-map, submit: runs in one pool")
    ap.add_argument("--method", default=None)
    ap.add_argument("--layout", default="default", choices=("default", "split", "same"),
                    help="rtt: the scheduler's choice; split: this process on CPU 0, the worker on CPU 1; "
                         "same: everything on CPU 0")
    a = ap.parse_args()
    default_n = {"rtt": 5000, "map": 100000, "pool-map": 100000, "submit": 20000}
    fn = {"rtt": bench_rtt, "map": bench_map, "pool-map": bench_pool_map, "submit": bench_submit,
          "memory": bench_memory, "broken": bench_broken}[a.what]
    if a.what == "rtt":
        bench_rtt(a.n or default_n["rtt"], a.method, a.layout)
    elif a.what in ("map", "pool-map", "submit"):
        fn(a.n or default_n[a.what], a.method, a.repeat)
    else:
        fn(a.n or default_n.get(a.what, 0), a.method)


if __name__ == "__main__":
    sys.exit(main())
