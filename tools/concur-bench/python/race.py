"""Seed 004, "竞态条件 Race Conditions": 5000 calls each adding 1 to a shared
counter 100 times on ThreadPoolExecutor(max_workers=5000). Rows: the same
work on one thread (the expected count), unprotected (the seed's program:
under the GIL it rarely loses an update, but may), and with a Lock.
"""
import concurrent.futures
import threading

import _bench

counter = 0
lock = threading.Lock()
INCREMENTS = 100


def increment_counter(fake_value):
    global counter
    for _ in range(INCREMENTS):
        counter += 1


def increment_counter_with_lock(fake_value):
    global counter
    for _ in range(INCREMENTS):
        with lock:
            counter += 1


def sequential(calls):
    global counter
    counter = 0
    for x in range(calls):
        increment_counter(x)
    return counter


def on_pool(increment, calls):
    global counter
    fake_data = [x for x in range(calls)]
    counter = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=calls) as executor:
        executor.map(increment, fake_data)
    return counter


def main():
    global INCREMENTS
    p = _bench.parser(__doc__)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--increments", type=int, default=100)
    args = p.parse_args()
    INCREMENTS = args.increments
    return _bench.run({
        "sequential": lambda: sequential(args.calls),
        "unprotected": lambda: on_pool(increment_counter, args.calls),
        "lock": lambda: on_pool(increment_counter_with_lock, args.calls),
    }, args)


if __name__ == "__main__":
    raise SystemExit(main())
