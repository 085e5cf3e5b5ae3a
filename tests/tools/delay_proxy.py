#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An HTTP proxy in front of an S3-compatible test server that makes reads slow: every GET of
an object (a ranged read; listings are not delayed) waits DELAY seconds before it is relayed,
as a far or overloaded S3 would. Each such GET is logged as one JSON line when it starts
(time, path), so a test can count the reads a query made and when.

usage: delay_proxy.py --port PORT --upstream http://127.0.0.1:S3PORT --delay 2 --log FILE
       (--delay-file FILE: the delay is read from FILE at each GET when it exists)
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from proxy_relay import relay


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def delay(self):
        try:
            with open(self.server.delay_file) as f:
                return float(f.read().strip() or 0)
        except (OSError, ValueError, TypeError):
            return self.server.default_delay

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if self.command == "GET" and "list-type=" not in self.path:
            d = self.delay()
            with self.server.lock:
                with open(self.server.log, "a") as f:
                    f.write(json.dumps({"t": time.time(), "path": self.path, "delay": d}) + "\n")
            time.sleep(d)
        relay(self, self.server.upstream, body)

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--delay", type=float, default=2.0)
    ap.add_argument("--delay-file")
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.upstream = args.upstream
    srv.default_delay = args.delay
    srv.delay_file = args.delay_file
    srv.lock = threading.Lock()
    srv.log = args.log
    srv.serve_forever()


if __name__ == "__main__":
    main()
