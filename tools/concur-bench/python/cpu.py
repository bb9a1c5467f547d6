"""Seeds 000 and 002, CPU-bound: sum(i * i for i in range(number)) over 20
numbers (seed 000: 1_000_000 + x, seed 002: 5_000_000 + x).

Faithful to the seeds' programs; what differs is only what the bench needs:
each method returns the total (the seeds discard it) so that it can be
checked, and the seed's prints happen under --verbose.
"""
import asyncio
import concurrent.futures
import multiprocessing
import threading

import _bench


def cpu_bound(number):  # seed 002; seed 000 calls it count()
    return sum(i * i for i in range(number))


def find_sums(numbers):  # seed 002, "正常情况"
    return sum(cpu_bound(number) for number in numbers)


def cacluate_count_threads(numbers):  # seed 000, "threading" (sic)
    results = [0] * len(numbers)

    def count(i, number):
        results[i] = cpu_bound(number)

    threads = [threading.Thread(target=count, args=(i, number)) for i, number in enumerate(numbers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results)


async def count(number):  # seed 000, "asyncio"
    return cpu_bound(number)


async def cacluate_count(numbers):
    tasks = [asyncio.create_task(count(number)) for number in numbers]
    return sum(await asyncio.gather(*tasks))


def find_sums_processes(numbers, workers):  # seed 002, "使用multiprocessing"
    with multiprocessing.Pool(processes=workers) as pool:
        return sum(pool.map(cpu_bound, numbers))


def find_sums_thread_pool(numbers, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
        return sum(executor.map(cpu_bound, numbers))


def main():
    p = _bench.parser(__doc__)
    p.add_argument("--base", type=int, default=5_000_000)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--workers", type=int, default=None, help="pool size (default: cpu_count)")
    args = p.parse_args()
    numbers = [args.base + x for x in range(args.count)]
    return _bench.run({
        "sequential": lambda: find_sums(numbers),
        "threads": lambda: cacluate_count_threads(numbers),
        "asyncio": lambda: asyncio.run(cacluate_count(numbers)),
        "processes": lambda: find_sums_processes(numbers, args.workers),
        "thread-pool": lambda: find_sums_thread_pool(numbers, args.workers),
    }, args)


if __name__ == "__main__":
    raise SystemExit(main())
