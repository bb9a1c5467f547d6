#!/usr/bin/python3
"""mpi4py.futures' side of the mpi benchmarks (see bench_mpi.cpp for the cases;
run under `mpirun -n 1 /usr/bin/python3 peers_mpi4py.py ...`). One JSON line out.

    peers_mpi4py.py map N CHUNKSIZE WORKERS
    peers_mpi4py.py cpu HOW_MANY BASE WORKERS     (the parallel half only: the
                                                  sequential C++ time is concur's)
"""
import json
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def trivial(x):
    return x + 1


def cpu_bound(number):
    return sum(i * i for i in range(number))


def main():
    what, a, b, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with MPIPoolExecutor(max_workers=workers) as ex:
        list(ex.map(trivial, [1] * 1000, chunksize=10))  # warm: workers spawned and serving
        if what == "map":
            t0 = time.perf_counter()
            out = list(ex.map(trivial, range(a), chunksize=b))
            s = time.perf_counter() - t0
            print(json.dumps({"impl": "mpi4py", "case": "map", "n": a, "chunksize": b, "workers": workers,
                              "seconds": s, "ok": len(out) == a and out[-1] == a}))
        elif what == "cpu":
            numbers = [b + x for x in range(a)]
            t0 = time.perf_counter()
            list(ex.map(cpu_bound, numbers))
            s = time.perf_counter() - t0
            print(json.dumps({"impl": "mpi4py", "case": "cpu", "n": a, "base": b, "workers": workers,
                              "seconds": s, "ok": True}))
        else:
            sys.exit("usage: peers_mpi4py.py map|cpu A B WORKERS")


if __name__ == "__main__":
    main()
