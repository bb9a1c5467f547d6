"""Seed 001: 10 queries that each sleep (1 s in the seed) to mimic a database
call: sequential, ProcessPoolExecutor().map, ThreadPoolExecutor().map,
asyncio, and asyncio on uvloop. Each query returns its number (the seed's
returns None) so the bench can check that all ten ran.
"""
import asyncio
import time
from concurrent import futures

import _bench

WAIT = 1.0
VERBOSE = False
THREADS = None    # the executors' defaults, as in the seed, unless the bench
PROCESSES = None  # passes the sizes its C++ rows used


def query(num):
    if VERBOSE:
        print(num)
    time.sleep(WAIT)
    return num


def sequential():
    return sum(query(h) for h in range(10))


def processes():
    with futures.ProcessPoolExecutor(max_workers=PROCESSES) as executor:
        return sum(executor.map(query, range(10)))


def threads():
    with futures.ThreadPoolExecutor(max_workers=THREADS) as executor:
        return sum(executor.map(query, range(10)))


async def query_async(num):
    if VERBOSE:
        print(num)
    await asyncio.sleep(WAIT)
    return num


async def all_queries():
    return sum(await asyncio.gather(*(query_async(h) for h in range(10))))


def with_uvloop():
    uvloop = _bench.need("uvloop", "python3-uvloop")
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(all_queries())
    finally:
        loop.close()


def main():
    global WAIT, VERBOSE, THREADS, PROCESSES
    p = _bench.parser(__doc__)
    p.add_argument("--wait", type=float, default=1.0, help="seconds each query sleeps")
    p.add_argument("--threads", type=int, default=None, help="ThreadPoolExecutor's max_workers")
    p.add_argument("--processes", type=int, default=None, help="ProcessPoolExecutor's max_workers")
    args = p.parse_args()
    WAIT, VERBOSE, THREADS, PROCESSES = args.wait, args.verbose, args.threads, args.processes
    return _bench.run({
        "sequential": sequential,
        "processes": processes,
        "threads": threads,
        "asyncio": lambda: asyncio.run(all_queries()),
        "asyncio-uvloop": with_uvloop,
    }, args)


if __name__ == "__main__":
    raise SystemExit(main())
