"""Seed 004 (and 002), I/O-bound: download two sites 80 times each (160
downloads) with a requests.Session, on ThreadPoolExecutor(max_workers=5)
with a session per thread, with aiohttp on one event loop, and on a
multiprocessing.Pool whose initializer makes each worker's session.

The sites are the --url arguments (concur-bench passes its local site
server's, or the user's). Each method returns the bytes it read, so the bench
can check that every download happened. Differences from the seed, for a
tool that must not hang: requests calls have a 30 s timeout, and aiohttp
reads the body (the seed prints content_length, which may be None).
"""
import asyncio
import concurrent.futures
import multiprocessing
import threading

import _bench

TIMEOUT = 30
VERBOSE = False


# ---- sequential: one requests.Session -------------------------------------
def download_site(url, session):
    with session.get(url, timeout=TIMEOUT) as response:
        if VERBOSE:
            print(f"Read {len(response.content)} from {url}")
        response.raise_for_status()
        return len(response.content)


def download_all_sites(sites):
    requests = _bench.need("requests", "python3-requests")
    with requests.Session() as session:
        return sum(download_site(url, session) for url in sites)


# ---- threads: ThreadPoolExecutor(5), a Session per thread ------------------
thread_local = threading.local()


def get_session():
    if not hasattr(thread_local, "session"):
        import requests
        thread_local.session = requests.Session()
    return thread_local.session


def download_site_threaded(url):
    return download_site(url, get_session())


def download_all_sites_threads(sites, workers):
    _bench.need("requests", "python3-requests")
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
        return sum(executor.map(download_site_threaded, sites))


# ---- asyncio: one aiohttp.ClientSession, a task per download ---------------
async def download_site_async(session, url):
    async with session.get(url) as response:
        body = await response.read()
        if VERBOSE:
            print("Read {0} from {1}".format(response.content_length, url))
        response.raise_for_status()
        return len(body)


async def download_all_sites_async(sites, aiohttp):
    async with aiohttp.ClientSession() as session:
        tasks = []
        for url in sites:
            task = asyncio.ensure_future(download_site_async(session, url))
            tasks.append(task)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        # An exception counts as 0 bytes: the checksum then shows the loss.
        return sum(r for r in results if isinstance(r, int))


def run_asyncio(sites):
    aiohttp = _bench.need("aiohttp", "python3-aiohttp")
    return asyncio.run(download_all_sites_async(sites, aiohttp))


# ---- processes: multiprocessing.Pool(initializer=set_global_session) -------
session = None


def set_global_session():
    global session
    if not session:
        import requests
        session = requests.Session()


def download_site_process(url):
    with session.get(url, timeout=TIMEOUT) as response:
        if VERBOSE:
            name = multiprocessing.current_process().name
            print(f"{name}:Read {len(response.content)} from {url}")
        response.raise_for_status()
        return len(response.content)


def download_all_sites_processes(sites, processes):
    _bench.need("requests", "python3-requests")
    with multiprocessing.Pool(processes=processes, initializer=set_global_session) as pool:
        return sum(pool.map(download_site_process, sites))


def main():
    global VERBOSE
    p = _bench.parser(__doc__)
    p.add_argument("--url", action="append", required=True, help="a site (repeat for more)")
    p.add_argument("--times", type=int, default=80, help="downloads of each site")
    p.add_argument("--threads", type=int, default=5, help="ThreadPoolExecutor's max_workers")
    p.add_argument("--processes", type=int, default=None, help="Pool size (default: cpu_count)")
    args = p.parse_args()
    VERBOSE = args.verbose
    sites = args.url * args.times
    return _bench.run({
        "sequential": lambda: download_all_sites(sites),
        "threads": lambda: download_all_sites_threads(sites, args.threads),
        "asyncio": lambda: run_asyncio(sites),
        "processes": lambda: download_all_sites_processes(sites, args.processes),
    }, args)


if __name__ == "__main__":
    raise SystemExit(main())
