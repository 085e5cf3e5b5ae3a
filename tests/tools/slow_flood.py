#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile HTTP client that holds connections by sending slowly, for the collector's tests.

usage: slow_flood.py heads --target HOST:PORT --sockets N [--sources A,B,...] [--interval S]
                           [--duration S]
       slow_flood.py body --target HOST:PORT [--source A] [--rate BYTES_PER_S] [--duration S]

heads: N sockets, spread over the source addresses (127.0.0.0/8 all routes to lo, so
       127.0.0.2 is "another client" on one machine), each sending the start of a request head
       and one more header line every interval, never the blank line that ends it. A socket the
       server closes is opened again after the interval. Prints JSON: connections opened, closed
       by the server within a second ("refused") or later ("cut"), the longest a connection
       lived, how many were open at the end.
body:  one request whose head announces a large body, then the body at RATE bytes per second.
       Prints JSON: seconds until the server closed the connection (null if it never did within
       the duration), body bytes sent, and the answer's status line if one came.
"""
import argparse
import json
import resource
import selectors
import socket
import sys
import time

HEAD = (b"POST /v1development/profiles HTTP/1.1\r\nHost: collector\r\n"
        b"Content-Type: application/x-protobuf\r\n")


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def target(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


class Conn:
    def __init__(self, src):
        self.src = src
        self.sock = None
        self.opened_at = 0.0
        self.next_send = 0.0
        self.lines = 0
        self.retry_at = 0.0


def heads(args):
    sel = selectors.DefaultSelector()
    sources = args.sources.split(",")
    conns = [Conn(sources[i % len(sources)]) for i in range(args.sockets)]
    stats = {"opened": 0, "refused": 0, "cut": 0, "connect_errors": 0, "max_lifetime_s": 0.0}
    addr = target(args.target)
    end = time.monotonic() + args.duration

    def close(c, by_server, now):
        sel.unregister(c.sock)
        c.sock.close()
        c.sock = None
        c.retry_at = now + args.interval
        if by_server:
            life = now - c.opened_at
            stats["max_lifetime_s"] = max(stats["max_lifetime_s"], round(life, 2))
            stats["refused" if life < 1.0 else "cut"] += 1

    def send(c, data, now):
        try:
            c.sock.send(data)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            close(c, True, now)

    while True:
        now = time.monotonic()
        if now >= end:
            break
        for c in conns:
            if c.sock is None and now >= c.retry_at:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.bind((c.src, 0))
                    s.connect_ex(addr)
                except OSError:
                    stats["connect_errors"] += 1
                    s.close()
                    c.retry_at = now + args.interval
                    continue
                c.sock, c.opened_at, c.lines = s, now, 0
                c.next_send = now
                sel.register(s, selectors.EVENT_READ, c)
                stats["opened"] += 1
            elif c.sock is not None and now >= c.next_send:
                send(c, HEAD if c.lines == 0 else b"X-Slow-%d: x\r\n" % c.lines, now)
                c.lines += 1
                c.next_send = now + args.interval
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                data = c.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                close(c, True, time.monotonic())
    stats["open_at_end"] = sum(1 for c in conns if c.sock is not None)
    for c in conns:
        if c.sock is not None:
            c.sock.close()
    print(json.dumps(stats))


def body(args):
    s = socket.create_connection(target(args.target), source_address=(args.source, 0))
    s.sendall(HEAD + b"Content-Length: 10000000\r\n\r\n")
    t0 = time.monotonic()
    sent, closed_after, answer = 0, None, ""
    s.settimeout(0.2)
    while time.monotonic() - t0 < args.duration:
        chunk = b"\x0a" * max(1, args.rate // 5)
        try:
            s.sendall(chunk)
            sent += len(chunk)
        except OSError:
            closed_after = time.monotonic() - t0
            break
        try:
            data = s.recv(4096)
            if not data:
                closed_after = time.monotonic() - t0
                break
            answer = answer or data.split(b"\r\n", 1)[0].decode(errors="replace")
        except socket.timeout:
            pass
        except OSError:
            closed_after = time.monotonic() - t0
            break
    s.close()
    print(json.dumps({"closed_after_s": None if closed_after is None else round(closed_after, 2),
                      "body_bytes_sent": sent, "answer": answer}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["heads", "body"])
    p.add_argument("--target", required=True)
    p.add_argument("--sockets", type=int, default=1100)
    p.add_argument("--sources", default="127.0.0.2")
    p.add_argument("--source", default="127.0.0.2")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--duration", type=float, default=20.0)
    args = p.parse_args()
    raise_fd_limit()
    heads(args) if args.mode == "heads" else body(args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
