#!/usr/bin/env python3
"""testserver.py - the self test's fake upstream and fake railyard, on 127.0.0.1 only.

GET/HEAD  serve files under --root (with Content-Length; HEAD answers like GET without a body).
GET /boot.ipxe  the file STATE_DIR/boot.ipxe (the test writes it).
POST any path  append {"t", "path", "body"} as one JSON line to STATE_DIR/events.jsonl and
    answer 200 {}; if the body is JSON with "event": E and STATE_DIR/boot-after-E.ipxe exists,
    it becomes the next /boot.ipxe (e.g. installed -> sanboot from disk).
Writes its own PID to STATE_DIR/server.pid and the port it listens on to STATE_DIR/server.port.
Every request is logged to STATE_DIR/access.log as "METHOD PATH STATUS".
"""
import argparse
import http.server
import io
import json
import os
import shutil
import time


def make_handler(root, state):
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def log_message(self, fmt, *args):
            pass

        def log_request(self, code="-", size="-"):
            with open(os.path.join(state, "access.log"), "a") as f:
                f.write(f"{self.command} {self.path} {code}\n")

        def send_head(self):
            if self.path.split("?")[0] == "/boot.ipxe":
                try:
                    body = open(os.path.join(state, "boot.ipxe"), "rb").read()
                except OSError:
                    self.send_error(404)
                    return None
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return io.BytesIO(body)
            return super().send_head()

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with open(os.path.join(state, "events.jsonl"), "a") as f:
                f.write(json.dumps({"t": time.time(), "path": self.path, "body": body}) + "\n")
            if isinstance(body, dict) and isinstance(body.get("event"), str):
                nxt = os.path.join(state, f"boot-after-{body['event']}.ipxe")
                if os.path.exists(nxt):
                    shutil.copyfile(nxt, os.path.join(state, "boot.ipxe"))
            out = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(a.root, a.state))
    with open(os.path.join(a.state, "server.pid"), "w") as f:
        f.write(str(os.getpid()))
    with open(os.path.join(a.state, "server.port"), "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
