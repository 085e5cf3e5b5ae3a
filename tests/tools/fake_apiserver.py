#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the Kubernetes API server's pod endpoints, over HTTPS, for the agent's tests.
No kube-apiserver can run here (Debian has none), so this serves what the agent reads, in the
API server's own formats: GET /api/v1/pods (a PodList) and, with watch=true, a chunked stream
of watch events, one JSON object per line.

usage: fake_apiserver.py --port P --cert CERT --key KEY --token TOKEN --dir DIR
                         [--malformed-lists N] [--watch-seconds S]

DIR/pods.json      the pods (a JSON array of Pod objects) a list returns, read at each list
DIR/events/*.json  watch events, each a {"type":..., "object":...} object; a file appearing
                   there is sent to every open watch (in name order), once
DIR/requests.jsonl one line per request: path, query, whether the bearer token was right
Requests without "Authorization: Bearer TOKEN" get 401; a fieldSelector other than
spec.nodeName=<a node> gets 400; the first N lists are answered with truncated JSON.
"""
import argparse
import json
import os
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rv = 1000
        self.lists = 0


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        pass

    def record(self, **kw):
        with self.state.lock:
            with open(os.path.join(self.state.args.dir, "requests.jsonl"), "a") as f:
                f.write(json.dumps(kw) + "\n")

    def send_json(self, code, obj, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.state
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        auth_ok = self.headers.get("Authorization") == "Bearer " + st.args.token
        watch = q.get("watch") in ("true", "1")
        self.record(path=url.path, query=q, auth_ok=auth_ok, watch=watch,
                    accept=self.headers.get("Accept"), user_agent=self.headers.get("User-Agent"))
        if not auth_ok:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if url.path != "/api/v1/pods":
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        sel = q.get("fieldSelector", "")
        if not sel.startswith("spec.nodeName="):
            return self.send_json(400, status(400, "BadRequest", "expected a fieldSelector on spec.nodeName"))
        node = sel.split("=", 1)[1]
        if watch:
            return self.watch(node, q)
        with open(os.path.join(st.args.dir, "pods.json")) as f:
            pods = [p for p in json.load(f) if p.get("spec", {}).get("nodeName") == node]
        with st.lock:
            st.lists += 1
            n = st.lists
            rv = str(st.rv)
        body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                           "metadata": {"resourceVersion": rv}, "items": pods}).encode()
        if n <= st.args.malformed_lists:
            body = body[: len(body) // 2]  # cut mid-document, as a broken proxy might
        self.send_json(200, None, raw=body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, node, q):
        st = self.state
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events_dir = os.path.join(st.args.dir, "events")
        sent = set(os.listdir(events_dir))  # a watch sees what happens after it starts
        limit = min(int(q.get("timeoutSeconds", "300")), st.args.watch_seconds)
        deadline = time.time() + limit
        try:
            while time.time() < deadline:
                for name in sorted(os.listdir(events_dir)):
                    if name in sent or not name.endswith(".json"):
                        continue
                    sent.add(name)
                    with open(os.path.join(events_dir, name)) as f:
                        ev = json.load(f)
                    obj = ev.get("object", {})
                    if obj.get("spec", {}).get("nodeName", node) != node:
                        continue
                    with st.lock:
                        st.rv += 1
                        obj.setdefault("metadata", {})["resourceVersion"] = str(st.rv)
                    self.chunk(json.dumps(ev).encode() + b"\n")
                time.sleep(0.1)
            self.chunk(b"")  # the server ends the watch; the client renews it
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--malformed-lists", type=int, default=0)
    ap.add_argument("--watch-seconds", type=int, default=300)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.dir, "events"), exist_ok=True)
    Handler.state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
