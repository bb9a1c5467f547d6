#!/usr/bin/python3
"""Benchmark 3 of the HTTP issue: the site server against nginx under wrk,
side by side in one run, medians of --rounds rounds (programs interleaved
round by round so that a noisy spell hits everyone alike).

    bench/http/server/run_all.py BUILD_DIR [--rounds 5] [--seconds 10] [--connections 100]
                                 [--server-cpu 0] [--client-cpu 1]

BUILD_DIR is a Release build (build/release): its examples/site_server serves
a 1 KiB page (/1k, added with --page, no latency) once per loop backend
(CONCUR_LOOP=io_uring, then epoll); nginx (/usr/sbin/nginx, one worker,
daemon off, access_log off) serves the same 1,024 bytes as a static file
from a generated config in a temporary directory. The servers run pinned to
--server-cpu, `wrk -t1 -cN -dS` to --client-cpu. Everything is on 127.0.0.1
and stops by itself. The target: concur >= 0.8x nginx's requests/s.

Where BUILD_DIR also has bench/http/server/bench_site_streams, the same page
served through asyncio streams (start_server, readuntil, write; no HTTP
parsing) runs too: the measurement behind driving the sockets from the loop
directly.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

NGINX = "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    # nginx's fastest way with a 1 KiB file: one writev of head and body
    # from its cache (sendfile costs a second system call per response and
    # took twice the CPU per request here).
    sendfile off;
    tcp_nopush off;
    open_file_cache max=1000;
    tcp_nodelay on;
    default_type text/html;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} is not listening on {port}")


def start_site(build, cpu, backend):
    exe = os.path.join(build, "examples", "site_server")
    port = free_port()
    env = dict(os.environ, CONCUR_LOOP=backend)
    p = subprocess.Popen(["taskset", "-c", str(cpu), exe, "--port", str(port), "--latency", "0",
                          "--page", "/1k=1024"], stdout=subprocess.DEVNULL, env=env)
    wait_listening(port, p, "site_server")
    return p, f"http://127.0.0.1:{port}/1k"


def start_streams(build, cpu, backend):
    exe = os.path.join(build, "bench", "http", "server", "bench_site_streams")
    port = free_port()
    env = dict(os.environ, CONCUR_LOOP=backend)
    p = subprocess.Popen(["taskset", "-c", str(cpu), exe, str(port)], stdout=subprocess.DEVNULL, env=env)
    wait_listening(port, p, "bench_site_streams")
    return p, f"http://127.0.0.1:{port}/1k"


def start_nginx(tmp, cpu, body):
    os.makedirs(os.path.join(tmp, "www"), exist_ok=True)
    with open(os.path.join(tmp, "www", "1k"), "wb") as f:
        f.write(body)
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        # As root, nginx's worker would drop to "nobody", who cannot read the
        # private temporary directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        f.write(NGINX_CONF.format(tmp=tmp, port=port, user=user))
    p = subprocess.Popen(["taskset", "-c", str(cpu), NGINX, "-p", tmp, "-e", os.path.join(tmp, "error.log"),
                          "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, p, "nginx")
    return p, f"http://127.0.0.1:{port}/1k"


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cpu_seconds(pid):
    # utime + stime of the server: CPU per request is steadier than
    # requests/s on a shared machine. nginx's worker is the master's child.
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    t = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            t += sum(cpu_seconds(int(c)) for c in f.read().split())
    except OSError:
        pass
    return t


def wrk(url, cpu, conns, seconds):
    out = subprocess.run(["taskset", "-c", str(cpu), WRK, "-t1", f"-c{conns}", f"-d{seconds}s", url],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("wrk printed no Requests/sec:\n" + out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    if bad or errs:
        print(f"  warning: {url}: {bad.group(0) if bad else ''} {errs.group(0) if errs else ''}", file=sys.stderr)
    total = re.search(r"(\d+) requests in", out)
    return float(m.group(1)), int(total.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    a = ap.parse_args()

    names = ["concur site_server (io_uring)", "concur site_server (epoll)", "nginx (1 worker)"]
    streams = os.path.exists(os.path.join(a.build, "bench", "http", "server", "bench_site_streams"))
    if streams:
        names += ["asyncio streams, no parsing (io_uring)", "asyncio streams, no parsing (epoll)"]
    samples = {n: [] for n in names}
    cost = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="concur-bench-http-") as tmp:
        procs = []
        try:
            site_u, url_u = start_site(a.build, a.server_cpu, "io_uring")
            procs.append(site_u)
            site_e, url_e = start_site(a.build, a.server_cpu, "epoll")
            procs.append(site_e)
            body = urllib.request.urlopen(url_u).read()
            assert len(body) == 1024, len(body)
            ngx, url_n = start_nginx(tmp, a.server_cpu, body)
            procs.append(ngx)
            assert urllib.request.urlopen(url_n).read() == body
            all_urls = [url_u, url_e, url_n]
            if streams:
                for backend in ("io_uring", "epoll"):
                    p, u = start_streams(a.build, a.server_cpu, backend)
                    procs.append(p)
                    all_urls.append(u)
            urls = dict(zip(names, all_urls))
            pids = dict(zip(names, [procs[0].pid, procs[1].pid, procs[2].pid] + [p.pid for p in procs[3:]]))
            for r in range(a.rounds):
                for n in names:
                    before = cpu_seconds(pids[n])
                    rps, total = wrk(urls[n], a.client_cpu, a.connections, a.seconds)
                    us = (cpu_seconds(pids[n]) - before) * 1e6 / max(total, 1)
                    samples[n].append(rps)
                    cost[n].append(us)
                    print(f"round {r + 1}: {n}: {rps:,.0f} req/s, {us:.2f} server CPU us/request", file=sys.stderr)
        finally:
            for p in procs:
                stop(p)

    print(f"\n### site server vs nginx: wrk -t1 -c{a.connections} -d{a.seconds}s, 1 KiB page, "
          f"server on CPU {a.server_cpu}, wrk on CPU {a.client_cpu}, {a.rounds} rounds\n")
    print("| server | median req/s | min | max | server CPU us/request (median) |")
    print("|---|---|---|---|---|")
    for n in names:
        s = samples[n]
        print(f"| {n} | {statistics.median(s):,.0f} | {min(s):,.0f} | {max(s):,.0f} | "
              f"{statistics.median(cost[n]):.2f} |")
    ng = statistics.median(samples[names[2]])
    for n in names[:2] + names[3:]:
        print(f"\n{n} vs nginx: {statistics.median(samples[n]) / ng:.2f}x (target >= 0.8x)", end="")
    print()


if __name__ == "__main__":
    main()
