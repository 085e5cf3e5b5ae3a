#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test OTLP/HTTP receiver: captures every request to DIR and answers as scripted.

usage: otlp_receiver.py --port P --dir DIR [--script SCRIPT]

SCRIPT is a comma-separated list of answers used in turn, the last one repeated forever:
  200            success (an empty ExportProfilesServiceResponse)
  503r2          503 with Retry-After: 2 (seconds);  503rD: Retry-After as an HTTP-date, 2 s ahead
  400            400 with a google.rpc.Status message
  partial        200 with a partial success rejecting 1 profile
  NxK            answer N, K times (e.g. 503r1x3)
Each request is saved as DIR/NNNN.pb (the decompressed body) and one JSON line in
DIR/requests.jsonl (time, path, headers, status answered).
"""
import argparse
import email.utils
import gzip
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def parse_script(s):
    steps = []
    for part in s.split(","):
        part = part.strip()
        count = 1
        if "x" in part and part.rsplit("x", 1)[1].isdigit():
            part, n = part.rsplit("x", 1)
            count = int(n)
        steps += [part] * count
    return steps


class State:
    def __init__(self, directory, script):
        self.dir = directory
        self.steps = parse_script(script)
        self.n = 0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with st.lock:
            i = st.n
            st.n += 1
            step = st.steps[min(i, len(st.steps) - 1)]
        with open(os.path.join(st.dir, f"{i:04d}.pb"), "wb") as f:
            f.write(body)
        status, headers, reply = 200, {}, b""
        if step.startswith("503") or step.startswith("429") or step.startswith("502"):
            status = int(step[:3])
            if "rD" in step:
                headers["Retry-After"] = email.utils.formatdate(time.time() + 2, usegmt=True)
            elif "r" in step:
                headers["Retry-After"] = step.split("r", 1)[1]
            reply = field_bytes(2, b"try again later")
        elif step.isdigit() and int(step) >= 300:
            status = int(step)
            reply = field_bytes(2, b"test receiver refuses this request")
        elif step == "partial":
            partial = varint(1 << 3 | 0) + varint(1) + field_bytes(2, b"one profile rejected")
            reply = field_bytes(1, partial)
        with open(os.path.join(st.dir, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"i": i, "t": time.time(), "path": self.path, "status": status,
                                "headers": dict(self.headers), "bytes": length}) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(reply)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--script", default="200")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.state = State(args.dir, args.script)
    srv.serve_forever()


if __name__ == "__main__":
    main()
