"""A stand-in site for the io experiment's Python rows in tests: answers
every GET with a fixed body after --latency ms, on 127.0.0.1, a free port.
Prints "PORT <n>" when it listens; stops on SIGTERM or when stdin closes.
"""
import argparse
import http.server
import sys
import threading
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--latency", type=float, default=0.0, help="ms before each answer")
    p.add_argument("--size", type=int, default=1000, help="body bytes")
    args = p.parse_args()
    body = b"x" * args.size

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(args.latency / 1000)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    # The test holds our stdin: when it goes away, so do we.
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
