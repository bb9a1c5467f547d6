"""What the concur-bench Python programs share: options, timing, output.

Each program reproduces one seed program and times its methods the way
concur-bench times the C++ ones (median of --repeat runs, wall and CPU time),
then prints one line per method for the bench to read:

    @@concur-bench {"method": "threads", "wall_s": [...], "cpu_s": [...], "checksum": 123}
    @@concur-bench {"method": "asyncio", "skipped": "python3 has no aiohttp (...)"}

The checksum is the method's result modulo 2**64, the C++ side's arithmetic,
so the bench can check that both sides computed the same thing.
"""
import argparse
import json
import resource
import sys
import time

MARK = "@@concur-bench "
MASK = (1 << 64) - 1


class Missing(Exception):
    """A method needs a package this interpreter lacks."""


def need(module, debian):
    try:
        return __import__(module)
    except ImportError:
        raise Missing(f"{sys.executable} has no {module} (Debian: {debian})") from None


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--repeat", type=int, default=5, help="runs per method (median reported)")
    p.add_argument("--methods", default="", help="comma-separated methods (default: all)")
    p.add_argument("--verbose", action="store_true", help="print what the seed prints")
    return p


def _cpu_seconds():
    # Children too: a multiprocessing pool's workers are reaped inside the method.
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def emit(record):
    print(MARK + json.dumps(record), flush=True)


def run(methods, args):
    """Times each chosen method args.repeat times; methods maps name -> fn()."""
    chosen = [m for m in args.methods.split(",") if m] or list(methods)
    for name in chosen:
        fn = methods.get(name)
        if fn is None:
            emit({"method": name, "skipped": f"no Python version of {name}"})
            continue
        walls, cpus, checksum = [], [], None
        try:
            for _ in range(args.repeat):
                c0, t0 = _cpu_seconds(), time.perf_counter()
                value = fn()
                t1, c1 = time.perf_counter(), _cpu_seconds()
                walls.append(t1 - t0)
                cpus.append(c1 - c0)
                if checksum is None:
                    checksum = value & MASK
        except Missing as e:
            emit({"method": name, "skipped": str(e)})
            continue
        emit({"method": name, "wall_s": walls, "cpu_s": cpus, "checksum": checksum})
    return 0
