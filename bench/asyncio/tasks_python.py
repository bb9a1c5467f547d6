#!/usr/bin/python3
"""Python asyncio: create and gather N trivial tasks on one thread.

    /usr/bin/python3 tasks_python.py --tasks 1000000 --loop asyncio --cpu 0

Use Debian's /usr/bin/python3: it is the one with python3-uvloop. The timed
span is task creation + gather to completion inside an already running loop,
so the loop's own start-up is not in it. The cyclic garbage collector stays on,
as in a real program; --no-gc turns it off, to show how much of the time it
takes (a million live tasks make its collections expensive). Prints the median
tasks/s of --repeat runs, or with --json one JSON line.
"""
import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time


async def trivial(i):
    return i


async def measure(n, repeat):
    rates = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = await asyncio.gather(*(asyncio.create_task(trivial(i)) for i in range(n)))
        t1 = time.perf_counter()
        if sum(results) != n * (n - 1) // 2:
            sys.exit("tasks_python: wrong sum of results")
        del results
        rates.append(n / (t1 - t0))
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-gc", action="store_true", help="disable the cyclic garbage collector")
    args = ap.parse_args()
    if args.no_gc:
        gc.disable()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    factory = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            sys.exit(f"tasks_python: no uvloop in {sys.executable}; use /usr/bin/python3")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        rates = runner.run(measure(args.tasks, args.repeat))
    median = statistics.median(rates)
    if args.json:
        print(json.dumps({"tasks_per_s": round(median, 1), "tasks": args.tasks,
                          "repeat": args.repeat, "loop": args.loop, "gc": not args.no_gc}))
    else:
        print(f"tasks/s: {median:.0f}  (median of {args.repeat} runs of {args.tasks} tasks, "
              f"{args.loop}, gc {'off' if args.no_gc else 'on'}; min {min(rates):.0f}, max {max(rates):.0f})")


if __name__ == "__main__":
    main()
