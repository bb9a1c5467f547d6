#!/usr/bin/python3
"""Python's peer: N GETs of URL through one aiohttp.ClientSession with
TCPConnector(limit=INFLIGHT) and INFLIGHT worker tasks, as client_session.cpp.

    /usr/bin/python3 aiohttp_gets.py URL N INFLIGHT [--uvloop]   -> {"req_per_s":..., "seconds":...}
"""
import asyncio
import json
import sys
import time

import aiohttp


async def main(url, n, inflight):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=inflight)) as s:
        async with s.get(url) as r:  # warm-up
            await r.read()
        left = n

        async def worker():
            nonlocal left
            while left > 0:
                left -= 1
                async with s.get(url) as r:
                    if r.status != 200:
                        raise RuntimeError(f"status {r.status}")
                    await r.read()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(inflight)))
        return time.perf_counter() - t0


if __name__ == "__main__":
    url, n, inflight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    secs = asyncio.run(main(url, n, inflight))
    print(json.dumps({"req_per_s": n / secs, "seconds": secs}))
