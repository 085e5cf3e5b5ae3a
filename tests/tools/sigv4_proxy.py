#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An HTTP proxy in front of an S3-compatible test server that checks AWS Signature V4.

s3rver accepts any SigV4 signature, so this proxy recomputes each request's signature with
botocore (the AWS SDK for Python that the AWS CLI ships; an implementation that is not ours)
and answers 403 SignatureDoesNotMatch when it differs; otherwise it forwards the request and
relays the answer. Every check is logged as one JSON line (method, path, ok).

usage: sigv4_proxy.py --port PORT --upstream http://127.0.0.1:S3PORT --log FILE
       (credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
"""
import argparse
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from proxy_relay import relay

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # Debian's awscli package vendors botocore (python3-botocore is not needed)
    sys.path.append("/usr/lib/python3/dist-packages")
    import awscli.botocore.session  # noqa: F401 (first: the vendored copy imports in this order)
    from awscli.botocore.auth import S3SigV4Auth
    from awscli.botocore.awsrequest import AWSRequest
    from awscli.botocore.credentials import Credentials

AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def expected_signature(method, host, path, headers, body, secret, region, signed):
    req = AWSRequest(method=method, url=f"http://{host}{path}", data=body,
                     headers={k: v for k, v in headers.items() if k.lower() in signed})
    req.context["timestamp"] = headers["x-amz-date"]
    auth = S3SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], secret), "s3", region)
    canonical = auth.canonical_request(req)
    return auth.signature(auth.string_to_sign(req, canonical), req)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        m = AUTH_RE.match(headers.get("authorization", ""))
        ok = False
        if m:
            key, _, region, signed, sig = m.groups()
            try:
                ok = key == os.environ["AWS_ACCESS_KEY_ID"] and sig == expected_signature(
                    self.command, headers["host"], self.path, headers, body,
                    os.environ["AWS_SECRET_ACCESS_KEY"], region, set(signed.split(";")))
            except Exception as e:  # a malformed request is a failed check
                print("check error:", e, file=sys.stderr)
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "ok": ok}) + "\n")
        if not ok:
            reply = (b"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>"
                     b"The request signature does not match (checked by sigv4_proxy)</Message></Error>")
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            return
        relay(self, self.server.upstream, body)

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.upstream = args.upstream
    srv.log = args.log
    srv.serve_forever()


if __name__ == "__main__":
    main()
