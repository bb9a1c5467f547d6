#!/usr/bin/python3
"""Runs every asyncio benchmark of the asyncio issue side by side and prints
one markdown table per target, medians of --rounds rounds, peers interleaved
with concur round by round so that a noisy spell hits everyone alike.

    bench/asyncio/run_all.py BUILD_DIR [--rounds 5] [--seconds 10] [--only echo,tasks,sleep,memory]

BUILD_DIR is a Release build (build/release). Servers are pinned to CPU 0 and
the load generator to CPU 1, as the issue's figures were taken. Everything
talks to 127.0.0.1 only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's, with python3-uvloop


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1])


def start_server(cmd, env=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline().split()
    if len(line) < 2 or line[0] != "listening":
        p.kill()
        raise RuntimeError(f"{cmd[0]} did not start: {line}")
    return p, int(line[1])


def table(title, unit, rows, subject_names, higher_better=True):
    print(f"\n### {title}\n")
    print(f"| program | median {unit} | min | max |")
    print("|---|---|---|---|")
    for name, samples in rows.items():
        if samples:
            print(f"| {name} | {statistics.median(samples):,.4g} | {min(samples):,.4g} | {max(samples):,.4g} |")
    for s in subject_names:
        if not rows.get(s):
            continue
        for name, samples in rows.items():
            if name in subject_names or not samples:
                continue
            a, b = statistics.median(rows[s]), statistics.median(samples)
            ratio = a / b if higher_better else b / a
            print(f"\n{s} vs {name}: {ratio:.2f}x", end="")
        print()


def env_loop(backend, socket_io=True):
    e = dict(os.environ)
    e["CONCUR_LOOP"] = backend
    # CONCUR_URING_SOCKET_IO=0: io_uring for readiness only (recv/send
    # syscalls per message, as before the ring did sockets' I/O).
    e.pop("CONCUR_URING_SOCKET_IO", None)
    if not socket_io:
        e["CONCUR_URING_SOCKET_IO"] = "0"
    return e


def bench_tasks(build, rounds, repeat=3):
    # Each program times `repeat` runs in its own process and reports their
    # median (warm allocator, as a long-running program sees it); the table
    # is over rounds of that.
    b = os.path.join(build, "bench")
    rows = {"concur io_uring": [], "concur epoll": [], "Boost.Asio co_spawn": [], "Python asyncio": []}
    for _ in range(rounds):
        for backend in ("io_uring", "epoll"):
            r = run_json(["taskset", "-c", "0", f"{b}/bench_asyncio", "tasks", "1000000", str(repeat)], env_loop(backend))
            rows[f"concur {backend}"].append(r["median_tasks_per_s"] / 1e6)
        asio = os.path.join(b, "asyncio", "tasks_asio")
        if os.path.exists(asio):
            r = run_json([asio, "--tasks", "1000000", "--repeat", str(repeat), "--cpu", "0", "--json"])
            rows["Boost.Asio co_spawn"].append(r["tasks_per_s"] / 1e6)
        r = run_json([PY, f"{HERE}/tasks_python.py", "--tasks", "1000000", "--repeat", str(repeat), "--loop", "asyncio",
                      "--cpu", "0", "--json"])
        rows["Python asyncio"].append(r["tasks_per_s"] / 1e6)
    table("create_task + gather of 1,000,000 trivial tasks, one thread", "M tasks/s", rows,
          ["concur io_uring", "concur epoll"])


def bench_echo(build, rounds, seconds, client):
    b = os.path.join(build, "bench")
    client_path = f"{b}/asyncio/{'echo_client_uring' if client == 'io_uring' else 'echo_client'}"
    servers = {
        "concur io_uring (streams)": ([f"{b}/bench_asyncio", "echo-server", "0"], env_loop("io_uring")),
        "concur io_uring, readiness only (streams)": ([f"{b}/bench_asyncio", "echo-server", "0"],
                                                       env_loop("io_uring", socket_io=False)),
        "concur epoll (streams)": ([f"{b}/bench_asyncio", "echo-server", "0"], env_loop("epoll")),
        "C epoll": ([f"{b}/asyncio/echo_epoll_c", "0"], None),
        "Boost.Asio coroutines": ([f"{b}/asyncio/echo_asio", "0"], None),
        "Python uvloop streams": ([PY, f"{HERE}/echo_python.py", "--port", "0", "--loop", "uvloop"], None),
        "Python asyncio streams": ([PY, f"{HERE}/echo_python.py", "--port", "0", "--loop", "asyncio"], None),
    }
    rows = {k: [] for k in servers}
    for _ in range(rounds):
        for name, (cmd, env) in servers.items():
            if not os.path.exists(cmd[0]):
                continue
            srv, port = start_server(["taskset", "-c", "0"] + cmd, env)
            try:
                r = run_json([client_path, "--port", str(port), "--connections", "50", "--size", "64",
                              "--seconds", str(seconds), "--warmup", "1", "--cpu", "1", "--json"])
                rows[name].append(r["rps"] / 1e3)
            finally:
                srv.terminate()
                srv.wait(timeout=10)
    table(f"TCP echo, 64-byte messages, 50 connections, {seconds} s, server on CPU 0, {client} client on CPU 1",
          "k requests/s", rows, ["concur io_uring (streams)", "concur io_uring, readiness only (streams)",
                                 "concur epoll (streams)"])


def bench_sleep(build, rounds):
    b = os.path.join(build, "bench")
    rows = {"concur io_uring": [], "concur epoll": []}
    for backend in ("io_uring", "epoll"):
        r = run_json([f"{b}/bench_asyncio", "sleep", str(rounds)], env_loop(backend))
        rows[f"concur {backend}"] = [r["median_s"], r["max_s"]]
    print("\n### gather of 10 sleep(1 s)\n")
    for k, (med, mx) in rows.items():
        print(f"- {k}: median {med:.4f} s, worst {mx:.4f} s")


def bench_memory(build):
    b = os.path.join(build, "bench")
    print("\n### memory\n")
    for backend in ("io_uring", "epoll"):
        r = run_json([f"{b}/bench_asyncio", "task-memory", "100000"], env_loop(backend))
        print(f"- parked trivial task ({backend}): {r['rss_bytes_per_task']:.1f} bytes (RSS growth / 100,000)")
        # Both ends live in this one process: 2 descriptors a connection,
        # and the hard RLIMIT_NOFILE here is 20,000.
        r = run_json([f"{b}/bench_asyncio", "idle-connections", "9000"], env_loop(backend))
        print(f"- idle connection parked in read() ({backend}): {r['rss_bytes_per_connection']:.0f} bytes "
              f"(RSS growth / 9,000 connections, both ends counted, in one process)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--only", default="tasks,echo,sleep,memory")
    ap.add_argument("--client", choices=("io_uring", "epoll"), default="io_uring",
                    help="echo load generator: echo_client_uring (batched, cheaper than any server) or echo_client")
    a = ap.parse_args()
    only = a.only.split(",")
    print(f"asyncio benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, rounds={a.rounds}")
    if "tasks" in only:
        bench_tasks(a.build, a.rounds)
    if "echo" in only:
        bench_echo(a.build, a.rounds, a.seconds, a.client)
    if "sleep" in only:
        bench_sleep(a.build, a.rounds)
    if "memory" in only:
        bench_memory(a.build)


if __name__ == "__main__":
    sys.exit(main())
