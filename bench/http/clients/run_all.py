#!/usr/bin/python3
"""The HTTP client benchmarks of issue 5, side by side, medians of --rounds:

  (2) N GETs of a 1 KiB page from a loopback nginx, no added latency,
      INFLIGHT in flight: ClientSession (io_uring and epoll loops) vs a plain
      libcurl multi loop in C vs Python aiohttp (asyncio and uvloop).
      Targets: >= 10x aiohttp's req/s, >= 0.8x the C curl loop.
  (4) memory: 1,000 transfers in flight through one ClientSession (a server
      that holds every response), RSS growth per transfer. Target <= 64 KiB.

    bench/http/clients/run_all.py BUILD_DIR [--rounds 5] [--requests 20000] [--inflight 64]

BUILD_DIR holds bench_http_client_session and bench_http_curl_multi (a
Release build). nginx (/usr/sbin/nginx) is started here on a free port, one
worker, pinned to CPU 0 with the clients on CPU 1 where there are two CPUs.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PY = "/usr/bin/python3"  # Debian's, with python3-aiohttp and python3-uvloop
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(tmp):
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "1k.html"), "w") as f:
        f.write("x" * 1024)
    for _ in range(5):
        port = free_port()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process off; worker_processes 1;
pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 10000000; keepalive_timeout 120s;
  client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
  uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096; root {www}; }} }}
""")
        cmd = ["/usr/sbin/nginx", "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "startup.log")]
        if shutil.which("taskset") and os.cpu_count() >= 2:
            cmd = ["taskset", "-c", "0"] + cmd
        p = subprocess.Popen(cmd)
        for _ in range(500):
            if p.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p, port
            except OSError:
                time.sleep(0.01)
        p.kill()
        p.wait()
    raise RuntimeError("nginx did not start")


def run_json(cmd):
    if shutil.which("taskset") and os.cpu_count() >= 2:
        cmd = ["taskset", "-c", "1"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("{")][-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--memory-transfers", type=int, default=1000)
    a = ap.parse_args()
    b = a.build_dir
    concur = os.path.join(b, "bench", "http", "clients", "bench_http_client_session")
    cmulti = os.path.join(b, "bench", "http", "clients", "bench_http_curl_multi")
    for exe in (concur, cmulti):
        if not os.path.exists(exe):
            concur_alt = os.path.join(b, os.path.basename(exe))
            if not os.path.exists(concur_alt):
                sys.exit(f"{exe} not built: ninja -C {b} bench_http_client_session bench_http_curl_multi")
    if not os.path.exists(concur):
        concur, cmulti = os.path.join(b, "bench_http_client_session"), os.path.join(b, "bench_http_curl_multi")

    tmp = tempfile.mkdtemp(prefix="concur-bench-nginx-")
    nginx, port = start_nginx(tmp)
    try:
        url = f"http://127.0.0.1:{port}/1k.html"
        n, c = str(a.requests), str(a.inflight)
        peers = {
            "concur ClientSession (io_uring)": [concur, "get", url, n, c, "io_uring"],
            "concur ClientSession (epoll)": [concur, "get", url, n, c, "epoll"],
            "libcurl multi loop (C)": [cmulti, url, n, c],
            "Python aiohttp (asyncio)": [PY, os.path.join(HERE, "aiohttp_gets.py"), url, n, c],
            "Python aiohttp (uvloop)": [PY, os.path.join(HERE, "aiohttp_gets.py"), url, n, c, "--uvloop"],
        }
        rows = {k: [] for k in peers}
        for r in range(a.rounds):
            for name, cmd in peers.items():  # interleaved: a noisy spell hits everyone alike
                try:
                    rows[name].append(run_json(cmd)["req_per_s"])
                except Exception as e:  # a missing peer is left out, and said so
                    print(f"{name}: failed: {e}", file=sys.stderr)
        mem = []
        for r in range(a.rounds):
            mem.append(run_json([concur, "memory", str(a.memory_transfers)])["bytes_per_transfer"])
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n### (2) {a.requests} GETs of 1 KiB from loopback nginx, {a.inflight} in flight "
          f"(medians of {a.rounds}; load {os.getloadavg()[0]:.2f})\n")
    print("| program | median req/s | min | max |")
    print("|---|---|---|---|")
    med = {}
    for name, s in rows.items():
        if s:
            med[name] = statistics.median(s)
            print(f"| {name} | {med[name]:,.0f} | {min(s):,.0f} | {max(s):,.0f} |")
    subj = med.get("concur ClientSession (io_uring)")
    if subj:
        for peer, target, op in (("Python aiohttp (asyncio)", 10, ">="), ("Python aiohttp (uvloop)", 10, ">="),
                                 ("libcurl multi loop (C)", 0.8, ">=")):
            if peer in med:
                ratio = subj / med[peer]
                print(f"\nClientSession (io_uring) / {peer}: {ratio:.2f}x (target {op} {target}x): "
                      f"{'met' if ratio >= target else 'NOT met'}")
    print(f"\n### (4) memory: {a.memory_transfers} transfers in flight through one ClientSession\n")
    print(f"RSS growth per transfer: median {statistics.median(mem) / 1024:.1f} KiB "
          f"(min {min(mem) / 1024:.1f}, max {max(mem) / 1024:.1f}); target <= 64 KiB: "
          f"{'met' if statistics.median(mem) <= 64 * 1024 else 'NOT met'}")


if __name__ == "__main__":
    main()
