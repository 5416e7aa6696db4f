#!/usr/bin/env python3
"""A registry that behaves like Docker Hub where it matters to a client, for tests/oci/pull-test.sh:
Bearer tokens from a token service the 401 challenge names, blobs redirected to a "CDN" on another
address, tokens that expire. It serves one OCI layout.

    fake-registry.py --layout DIR --listen ADDR:PORT --cdn ADDR:PORT --log FILE [--tls CERT KEY]
                     [--login USER:PASSWORD] [--expire-once] [--realm URL] [--corrupt DIGEST] [--slow SECONDS]
                     [--ready FILE]

    GET /v2/                            (Bearer) 200, the API version check clients start with
    GET /v2/REPO/manifests/TAG|DIGEST   (Bearer) the manifest or index; TAG is an
                                        org.opencontainers.image.ref.name of index.json
    GET /v2/REPO/blobs/DIGEST           (Bearer) 307 to the CDN
    GET /token?service=..&scope=..      a token; with --login only for that Basic login
    GET /cdn/DIGEST                     (on the CDN address) the blob

--expire-once: the first blob request is answered 401 and its token revoked (it expired).
--corrupt DIGEST: that blob is served with one byte changed (a broken disk, a hostile mirror).
--slow SECONDS: the CDN takes that long for each blob (ten pieces, flushed).
Each request is logged as "<server> <method> <path> auth=<scheme or ->".
"""
import argparse
import base64
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

A = None
LOG = None
LOCK = threading.Lock()
TOKENS = set()
EXPIRED = []


def log(server, handler):
    auth = handler.headers.get("Authorization")
    with LOCK:
        LOG.write(f"{server} {handler.command} {handler.path} auth={auth.split()[0] if auth else '-'}\n")
        LOG.flush()


def blob(digest):
    path = os.path.join(A.layout, "blobs", "sha256", digest.split(":", 1)[1])
    with open(path, "rb") as f:
        data = f.read()
    if digest == A.corrupt and data:
        data = bytes([data[0] ^ 0xFF]) + data[1:]
    return data


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Registry(Base):
    def challenge(self, repo):
        scheme = "https" if A.tls else "http"
        realm = A.realm or f"{scheme}://{A.listen}/token"
        h = f'Bearer realm="{realm}",service="fake"' + (f',scope="repository:{repo}:pull"' if repo else "")
        err = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode()
        self.reply(401, err, headers=[("WWW-Authenticate", h)])

    def do_GET(self):
        log("registry", self)
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            q = urllib.parse.parse_qs(url.query)
            if A.login:
                want = "Basic " + base64.b64encode(A.login.encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.reply(401, b'{"details":"incorrect username or password"}')
            if q.get("service") != ["fake"] or not q.get("scope", [""])[0].startswith("repository:"):
                return self.reply(400, b'{"details":"bad request"}')
            tok = base64.b64encode(os.urandom(12)).decode()
            TOKENS.add(tok)
            return self.reply(200, json.dumps({"token": tok, "expires_in": 300}).encode())
        auth = self.headers.get("Authorization", "")
        if url.path in ("/v2", "/v2/"):
            if not auth.startswith("Bearer ") or auth[7:] not in TOKENS:
                return self.challenge(None)
            return self.reply(200, b"{}")
        parts = url.path.split("/")
        if len(parts) < 5 or parts[1] != "v2":
            return self.reply(404, b"{}")
        repo, kind, ref = "/".join(parts[2:-2]), parts[-2], parts[-1]
        if not auth.startswith("Bearer ") or auth[7:] not in TOKENS:
            return self.challenge(repo)
        if kind == "manifests":
            with open(os.path.join(A.layout, "index.json")) as f:
                index = json.load(f)
            for m in index["manifests"]:
                if ref in (m["digest"], m.get("annotations", {}).get("org.opencontainers.image.ref.name")):
                    return self.reply(200, blob(m["digest"]), m["mediaType"],
                                      [("Docker-Content-Digest", m["digest"])])
            for name in os.listdir(os.path.join(A.layout, "blobs", "sha256")):
                if ref == "sha256:" + name:
                    body = blob(ref)
                    return self.reply(200, body, json.loads(body).get("mediaType", "application/json"),
                                      [("Docker-Content-Digest", ref)])
            return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
        if kind == "blobs":
            tok = auth[7:]
            with LOCK:
                expire = A.expire_once and not EXPIRED
                if expire:
                    EXPIRED.append(tok)
                    TOKENS.discard(tok)
            if expire:
                return self.challenge(repo)
            scheme = "https" if A.tls else "http"
            return self.reply(307, b"", headers=[("Location", f"{scheme}://{A.cdn}/cdn/{ref}?sig=x")])
        self.reply(404, b"{}")


class Cdn(Base):
    def do_GET(self):
        log("cdn", self)
        path = urllib.parse.urlsplit(self.path).path
        if not path.startswith("/cdn/sha256:"):
            return self.reply(404)
        data = blob(path[len("/cdn/"):])
        if not A.slow:
            return self.reply(200, data, "application/octet-stream")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        step = (len(data) + 9) // 10
        for i in range(0, len(data), step):
            self.wfile.write(data[i:i + step])
            self.wfile.flush()
            time.sleep(A.slow / 10)


def serve(handler, listen):
    host, port = listen.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), handler)
    srv.daemon_threads = True
    if A.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(A.tls[0], A.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def main():
    global A, LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", required=True)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--cdn", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2)
    ap.add_argument("--login")
    ap.add_argument("--realm")
    ap.add_argument("--expire-once", action="store_true")
    ap.add_argument("--corrupt")
    ap.add_argument("--slow", type=float)
    ap.add_argument("--ready")
    A = ap.parse_args()
    LOG = open(A.log, "a")
    serve(Registry, A.listen)
    serve(Cdn, A.cdn)
    if A.ready:
        open(A.ready, "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
