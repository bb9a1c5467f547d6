#!/usr/bin/python3
"""Python asyncio *streams* echo server, the peer concur's asyncio is measured against.

    /usr/bin/python3 echo_python.py --port 9000 --loop uvloop --cpu 0 &
    ./echo_client --port 9000 --seconds 5 --cpu 1

Use Debian's /usr/bin/python3: it is the one with python3-uvloop. Streams
(start_server, one coroutine per connection) rather than a Protocol, because
that is how asyncio servers are usually written. Listens on 127.0.0.1 only,
prints "listening PORT" once ready (--port 0 picks a free port) and exits 0 on
SIGTERM or SIGINT.
"""
import argparse
import asyncio
import os
import signal
import sys


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
        # Collects the connection's close status; without it Python 3.11 logs
        # "Future exception was never retrieved" for a client that reset.
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def serve(port):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(echo, "127.0.0.1", port)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    # The runner then cancels the per-connection coroutines still running.


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    ap.add_argument("--cpu", type=int)
    args = ap.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    factory = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            sys.exit(f"echo_python: no uvloop in {sys.executable}; use /usr/bin/python3")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(args.port))


if __name__ == "__main__":
    main()
