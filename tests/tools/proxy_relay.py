# SPDX-License-Identifier: Apache-2.0
"""What the test proxies in front of S3 share: relaying one request upstream and the answer back."""
import http.client
import urllib.parse


def relay(handler, upstream, body):
    """Sends handler's request (with body) to upstream and writes the answer to handler."""
    up = urllib.parse.urlparse(upstream)
    conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
    try:
        conn.request(handler.command, handler.path, body=body, headers=dict(handler.headers))
        resp = conn.getresponse()
        data = resp.read()
    except OSError:
        handler.send_response(502)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    finally:
        conn.close()
    handler.send_response(resp.status)
    for k, v in resp.getheaders():
        if k.lower() not in ("content-length", "transfer-encoding", "connection"):
            handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)
