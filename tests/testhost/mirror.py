#!/usr/bin/env python3
"""The Debian and npm mirrors of the test host's upstream network (build-agent-cache.sh fills them).

    mirror.py --listen ADDR:PORT --root DIR --log FILE [--ready FILE]

    GET /debian/PATH         DIR/debian/PATH: an apt repository (dists/trixie, pool/main)
    GET /npm/NAME            the packument DIR/npm/packuments/NAME.json (NAME "@scope/name" or "@scope%2fname"),
                             its tarball URLs pointed at this server
    GET /npm/PATH/-/FILE     the tarball DIR/npm/files/PATH/-/FILE

Every request is logged, one line each: "<time> <client> <method> <path> <status> <bytes>".
"""
import argparse
import datetime
import http.server
import os
import sys
import urllib.parse

ROOT = None
LOG = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sandy-test-mirror"

    def log_message(self, fmt, *args):
        pass

    def record(self, status, size):
        ts = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        LOG.write(f"{ts} {self.client_address[0]} {self.command} {self.path} {status} {size}\n")
        LOG.flush()

    def send(self, status, body=b"", ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(status, len(body))

    def file(self, path, ctype="application/octet-stream", rewrite=False):
        real = os.path.realpath(path)
        if not real.startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isfile(real):
            return self.send(404, b"not found\n", "text/plain")
        with open(real, "rb") as f:
            body = f.read()
        if rewrite:
            host = self.headers.get("Host") or self.server.server_address[0]
            body = body.replace(b"https://registry.npmjs.org/", f"http://{host}/npm/".encode())
        self.send(200, body, ctype)

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if ".." in path.split("/"):
            return self.send(400, b"bad path\n", "text/plain")
        if path.startswith("/debian/"):
            return self.file(os.path.join(ROOT, "debian", path[len("/debian/"):]))
        if path.startswith("/npm/"):
            rest = path[len("/npm/"):]
            if "/-/" in rest:
                return self.file(os.path.join(ROOT, "npm", "files", rest))
            return self.file(os.path.join(ROOT, "npm", "packuments", rest + ".json"), "application/json", True)
        self.send(404, b"not found\n", "text/plain")

    do_HEAD = do_GET


def main():
    global ROOT, LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()
    ROOT = a.root
    LOG = open(a.log, "a")
    host, port = a.listen.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    srv.daemon_threads = True
    if a.ready:
        open(a.ready, "w").close()
    print(f"mirror listening on {a.listen} (pid {os.getpid()})", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
