#!/usr/bin/python3
"""Runs the mpi benchmarks of issue 7 side by side and prints one markdown
table: medians of --rounds rounds, concur and mpi4py.futures interleaved
round by round so that a noisy spell hits both alike (the seed CPU case's
speed-up: best of the rounds, see below).

    bench/mpi/run_all.py BUILD_DIR [--rounds 5] [--workers 2] [--quick]
                         [--python /usr/bin/python3] [--cpu-seconds 1.2]

BUILD_DIR is a Release build holding bench/mpi/bench_mpi (cmake -S . -B DIR
-DCMAKE_BUILD_TYPE=Release && ninja -C DIR bench_mpi). The peer is Debian's
python3-mpi4py (MPIPoolExecutor) under /usr/bin/python3. Both start as
`mpirun -n 1 PROGRAM` and spawn --workers worker ranks, warmed up before the
clock starts. Cases:

  map, chunked    100,000 trivial calls, map(chunksize=1000)   target: concur >= 10x mpi4py
  map, unchunked   20,000 trivial calls, map(chunksize=1)      target: concur >= 30x mpi4py
  seed CPU work   cpu_bound over 20 numbers, sized so that the sequential run
                  takes --cpu-seconds; sequential (before the workers start)
                  vs on the workers, map(chunksize=1)          target: >= 1.85x sequential
                  beside it, the same on plain threads: what the machine gives

--quick divides the sizes by 10 (a smoke run, not figures to report).
Running as root, Open MPI needs --allow-run-as-root (and the two
OMPI_ALLOW_RUN_AS_ROOT* variables for the spawned ranks): this script adds
them only when it runs as root. --oversubscribe is always given, since
workers + 1 ranks may exceed the cores.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def mpi_env_and_flags():
    env = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe="1")
    flags = ["--oversubscribe"]
    if os.geteuid() == 0:
        flags.append("--allow-run-as-root")
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env, flags


def run_json(cmd, env, timeout=900):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout, env=env).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not rows:
        raise RuntimeError(f"no result from {' '.join(cmd)}")
    if not rows[-1].get("ok", True):
        raise RuntimeError(f"wrong results from {' '.join(cmd)}")
    return rows[-1]


def med(values):
    return statistics.median(values) if values else float("nan")


def ms(seconds):
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build_dir")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--cpu-seconds", type=float, default=1.2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()

    bench = os.path.join(a.build_dir, "bench", "mpi", "bench_mpi")
    if not os.access(bench, os.X_OK):
        sys.exit(f"{bench} not found: build it with ninja -C {a.build_dir} bench_mpi")
    env, flags = mpi_env_and_flags()
    mpirun = ["mpirun", *flags, "-n", "1"]
    peer = [a.python, os.path.join(HERE, "peers_mpi4py.py")]
    scale = 10 if a.quick else 1
    w = str(a.workers)
    cases = [
        ("map, chunked", 100_000 // scale, 1000 // scale, 10.0),
        ("map, unchunked", 20_000 // scale, 1, 30.0),
    ]
    base = int(subprocess.run([bench, "cpu-calibrate", str(a.cpu_seconds / scale)], check=True,
                              capture_output=True, text=True, env=env).stdout.strip())

    results = {name: {"concur": [], "mpi4py": []} for name, *_ in cases}
    cpu_seq, cpu_par, cpu_plain = [], [], []
    for r in range(a.rounds):
        for name, n, chunk, _ in cases:
            results[name]["concur"].append(
                run_json([*mpirun, bench, "map", str(n), str(chunk), w], env)["seconds"])
            results[name]["mpi4py"].append(
                run_json([*mpirun, *peer, "map", str(n), str(chunk), w], env)["seconds"])
        row = run_json([*mpirun, bench, "cpu", "20", str(base), w], env)
        cpu_seq.append(row["sequential"])
        cpu_par.append(row["seconds"])
        cpu_plain.append(row["plain_threads"])
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)

    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["?"] * 3
    print("\nconcur::mpi vs mpi4py.futures "
          f"({a.workers} spawned workers, medians of {a.rounds} rounds, load average {' '.join(load)}"
          f"{', --quick sizes' if a.quick else ''})\n")
    def spread(values):
        return f"{ms(min(values))} – {ms(max(values))}"

    print("| case | concur | mpi4py | concur faster by | target | concur min – max | mpi4py min – max |")
    print("|---|---|---|---|---|---|---|")
    for name, n, chunk, target in cases:
        cs, ps = results[name]["concur"], results[name]["mpi4py"]
        c, p = med(cs), med(ps)
        ok = "met" if p / c >= target else "NOT met"
        print(f"| {name}: {n:,} calls, chunksize {chunk} | {ms(c)} | {ms(p)} | {p / c:.1f}x | >= {target:.0f}x ({ok}) "
              f"| {spread(cs)} | {spread(ps)} |")
    # The host's noise only ever slows a run down, and here it moves a 1 s
    # run by up to 1.7x from one second to the next (a sequential run slowed
    # that way makes a 2-worker speed-up look above 2x, which cannot be). So
    # the speed-up is judged on the best run of each kind (min over rounds:
    # the machine undisturbed); the medians and every round's ratio are
    # printed beside it.
    s_best, p_best, t_best = min(cpu_seq), min(cpu_par), min(cpu_plain)
    ratios = sorted(q / r for q, r in zip(cpu_seq, cpu_par))
    plain = sorted(q / r for q, r in zip(cpu_seq, cpu_plain))
    ok = "met" if s_best / p_best >= 1.85 else "NOT met"
    print(f"| seed CPU work, 20 numbers from {base:,}: sequential vs {a.workers} workers (best of {a.rounds}) | "
          f"{ms(p_best)} | sequential {ms(s_best)} | {s_best / p_best:.2f}x | >= 1.85x ({ok}) "
          f"| {spread(cpu_par)} | sequential {spread(cpu_seq)} |")
    print(f"| reference: the same on {a.workers} plain threads, no executor (best of {a.rounds}) | "
          f"{ms(t_best)} | sequential {ms(s_best)} | {s_best / t_best:.2f}x | | {spread(cpu_plain)} | |")
    print("\nseed CPU work: medians: sequential " + ms(med(cpu_seq)) + ", workers " + ms(med(cpu_par)) +
          f" ({med(cpu_seq) / med(cpu_par):.2f}x), plain threads " + ms(med(cpu_plain)) +
          f" ({med(cpu_seq) / med(cpu_plain):.2f}x); each round's speed-up (sorted): workers " +
          ", ".join(f"{r:.2f}x" for r in ratios) + "; plain threads " + ", ".join(f"{r:.2f}x" for r in plain))


if __name__ == "__main__":
    main()
