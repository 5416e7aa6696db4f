#!/usr/bin/env python3
"""Fetch a static npm registry mirror of some packages and everything they depend on.

    npm-mirror.py OUTDIR NAME@VERSION...

Runs on the machine that builds the test cache (it needs the npm registry and `npm`). `npm install
--package-lock-only` resolves the dependency closure of the pinned packages; then, for every package in
it, OUTDIR/packuments/NAME.json is its abbreviated packument (what `npm install` asks for) cut down to the
versions in the closure, with dist-tags.latest at the pinned (or only) version, and OUTDIR/files/PATH is the
tarball (PATH as on registry.npmjs.org, e.g. @scope/name/-/name-1.0.0.tgz), checked against its integrity.
Tarballs of packages for other platforms (os/cpu/libc other than linux/x64/glibc) are left out: npm never
fetches them there. tests/testhost/mirror.py serves the result.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

REGISTRY = "https://registry.npmjs.org/"
CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"


def fetch(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=300) as r:
        return r.read()


def platform_ok(entry):
    def allowed(values, want):
        if not values:
            return True
        pos = [v for v in values if not v.startswith("!")]
        if pos:
            return want in pos
        return "!" + want not in values
    return (allowed(entry.get("os"), "linux") and allowed(entry.get("cpu"), "x64")
            and allowed(entry.get("libc"), "glibc"))


def main():
    out, pins = sys.argv[1], sys.argv[2:]
    roots = {}
    for p in pins:
        name, _, version = p.rpartition("@")
        roots[name] = version
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "package.json"), "w") as f:
            json.dump({"name": "mirror", "version": "1.0.0", "dependencies": roots}, f)
        env = dict(os.environ, npm_config_omit_lockfile_registry_resolved="false",
                   npm_config_registry=REGISTRY, npm_config_audit="false", npm_config_fund="false",
                   npm_config_update_notifier="false")
        subprocess.run(["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund",
                        "--loglevel=error"], cwd=d, env=env, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "package-lock.json")) as f:
            lock = json.load(f)

    versions = {}   # name -> set of versions
    tarballs = []   # (resolved url, integrity)
    for key, e in lock["packages"].items():
        if not key:
            continue
        name = e.get("name") or key.rsplit("node_modules/", 1)[1]
        versions.setdefault(name, set()).add(e["version"])
        if platform_ok(e):
            tarballs.append((e["resolved"], e["integrity"]))

    for name, vs in sorted(versions.items()):
        doc = json.loads(fetch(REGISTRY + name.replace("/", "%2f"), CORGI))
        doc["versions"] = {v: doc["versions"][v] for v in sorted(vs)}
        latest = roots.get(name) or sorted(v for v in vs if "-" not in v or len(vs) == 1)[-1]
        doc["dist-tags"] = {"latest": latest}
        doc.pop("time", None)
        path = os.path.join(out, "packuments", name + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(doc, f)

    for url, integrity in tarballs:
        algo, _, want = integrity.partition("-")
        data = fetch(url)
        got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
        if got != want:
            sys.exit(f"{url}: integrity {integrity} does not match ({algo}-{got})")
        rel = urllib.parse.unquote(urllib.parse.urlparse(url).path).lstrip("/")
        path = os.path.join(out, "files", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        print(f"{rel} {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
