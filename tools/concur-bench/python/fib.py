"""Seed 002, "执行CPU密集型任务时，thread和普通情况没有区别": fib(40) and fib(41)
one after the other, then on two threads; plus the process version the seed
implies (two worker processes), so that all three can be compared.
"""
import concurrent.futures
import threading

import _bench


def fib(n: int) -> int:  # the seed's, 1-indexed: fib(1) = 0, fib(2) = 1
    if n == 1:
        return 0
    elif n == 2:
        return 1
    else:
        return fib(n - 1) + fib(n - 2)


def print_fib(number, results, verbose):
    results[number] = fib(number)
    if verbose:
        print(f'fib({number}) is {results[number]}')


def fibs_no_threading(numbers, verbose):
    results = {}
    for number in numbers:
        print_fib(number, results, verbose)
    return sum(results.values())


def fibs_with_threads(numbers, verbose):
    results = {}
    threads = [threading.Thread(target=print_fib, args=(n, results, verbose)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results.values())


def fibs_with_processes(numbers):
    with concurrent.futures.ProcessPoolExecutor(max_workers=len(numbers)) as executor:
        return sum(executor.map(fib, numbers))


def main():
    p = _bench.parser(__doc__)
    p.add_argument("--n", type=int, nargs=2, default=[40, 41], metavar=("N1", "N2"))
    args = p.parse_args()
    return _bench.run({
        "sequential": lambda: fibs_no_threading(args.n, args.verbose),
        "threads": lambda: fibs_with_threads(args.n, args.verbose),
        "processes": lambda: fibs_with_processes(args.n),
    }, args)


if __name__ == "__main__":
    raise SystemExit(main())
