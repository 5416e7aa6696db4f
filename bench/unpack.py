#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unpacking a ~30 MB gzip layer: sandy's oci_unpack() against `tar -xzf` and `umoci unpack`.

usage: bench/unpack.py OCI_UNPACK_TEST [--runs N] [--dir DIR] [--size MB]

Builds one deterministic layer from this machine's /usr/share and /usr/lib files (sorted, fixed
owners and times, gzip level 6 like docker/skopeo) until the compressed blob reaches --size MB, wraps it
in an OCI layout (and an OCI archive), and times each (best and median of N rounds that interleave the
tools; target re-created and everything synced before each run, page cache warm):
  tar       tar -xzf layer.tar.gz -C target            (no digest checked at all)
  umoci     umoci unpack --image layout:bench bundle   (checks both digests)
  sandy     oci-unpack-test oci layout:bench target    (checks both digests)
  sandy-archive  the same from the OCI archive (blobs read out of the tar)
Prints the ratios against the peers measured in the same run; the issue's targets are sandy <= 1.3x
tar and umoci >= 2x sandy. Needs root (chroot, umoci's ownership). Informational, never pass/fail.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time


def build_layer(size_mb):
    """A tar of real files, deterministic for a given machine: sorted walk, fixed metadata."""
    want = size_mb << 20
    raw = io.BytesIO()
    gz = io.BytesIO()
    z = gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=6, mtime=0)
    n_files = 0

    class Tee:
        def write(self, b):
            raw.write(b)
            z.write(b)
            return len(b)

    tf = tarfile.open(fileobj=Tee(), mode="w|", format=tarfile.PAX_FORMAT)
    done = False
    for top in ("/usr/share", "/usr/lib"):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            if done:
                break
            for n in [None] + sorted(filenames):
                p = dirpath if n is None else os.path.join(dirpath, n)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                ti = tarfile.TarInfo(p.lstrip("/"))
                ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 1700000000, 0, 0, "", ""
                if n is None:
                    ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                    tf.addfile(ti)
                    continue
                if os.path.islink(p):
                    ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, os.readlink(p), 0o777
                    tf.addfile(ti)
                elif os.path.isfile(p) and st.st_size < (8 << 20):
                    try:
                        with open(p, "rb") as f:
                            data = f.read()
                    except OSError:
                        continue
                    ti.size, ti.mode = len(data), st.st_mode & 0o7755
                    tf.addfile(ti, io.BytesIO(data))
                    n_files += 1
                if gz.tell() >= want:
                    done = True
                    break
    tf.close()
    z.close()
    return raw.getvalue(), gz.getvalue(), n_files


def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs/sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def make_layout(layout, tar_bytes, gz_bytes):
    os.makedirs(os.path.join(layout, "blobs/sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers",
                                 "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]}}).encode()
    cd = blob(layout, cfg)
    cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
    ld = blob(layout, gz_bytes)
    ld["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cd, "layers": [ld]}).encode()
    md = blob(layout, m)
    md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    md["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [md]}, f)
    return os.path.join(layout, "blobs/sha256", ld["digest"][7:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/var/tmp"))
    ap.add_argument("--size", type=int, default=30)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (chroot; umoci keeps owners only as root)")
        return 77
    for tool in ("umoci", "tar"):
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool)
            return 77
    driver = os.path.abspath(a.driver)
    work = tempfile.mkdtemp(prefix="sandy-bench-unpack-", dir=a.dir)
    try:
        tar_bytes, gz_bytes, n_files = build_layer(a.size)
        layout = os.path.join(work, "layout")
        layer = make_layout(layout, tar_bytes, gz_bytes)
        archive = os.path.join(work, "image.oci.tar")
        with tarfile.open(archive, "w") as tf:
            for n in ("oci-layout", "index.json", "blobs"):
                tf.add(os.path.join(layout, n), arcname=n)
        t = os.path.join(work, "t")
        prep = "rm -rf %s && mkdir %s" % (t, t)
        cmds = {
            "tar": "tar -xzf %s -C %s" % (layer, t),
            "umoci": "umoci unpack --image %s:bench %s/bundle" % (layout, t),
            "sandy": "%s oci %s:bench %s" % (driver, layout, t),
            "sandy-archive": "%s oci-archive %s:bench %s" % (driver, archive, t),
        }
        # A correctness check first: the same tree as tar's (names, types, sizes, modes).
        for name in ("tar", "sandy"):
            subprocess.run(prep, shell=True, check=True)
            subprocess.run(cmds[name], shell=True, check=True)
            out = subprocess.run("cd %s && find . -printf '%%p %%y %%s %%m %%U\\n' | sort | sha256sum" % t,
                                 shell=True, check=True, stdout=subprocess.PIPE).stdout.decode().split()[0]
            if name == "tar":
                want = out
            elif out != want:
                print("sandy's tree differs from tar's!")
                return 1
        # Rounds interleave the tools, so that load from elsewhere on the machine (or a slow spell of
        # the disk) hits them alike; before every run the target is re-created and everything synced,
        # so no tool pays for the previous one's writeback.
        times = {k: [] for k in cmds}
        for _ in range(a.runs + 1):
            for name, c in cmds.items():
                subprocess.run("rm -rf %s && mkdir %s && sync" % (t, t), shell=True, check=True)
                t0 = time.perf_counter()
                subprocess.run(c, shell=True, check=True, stdout=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - t0)
        for k in times:
            times[k] = times[k][1:]  # the first round warms caches
        best = {k: min(v) for k, v in times.items()}
        mean = {k: statistics.median(v) for k, v in times.items()}
        print("layer: %.1f MiB gzip, %.1f MiB tar, %d files; %s; best of %d (median in brackets)" %
              (len(gz_bytes) / 2**20, len(tar_bytes) / 2**20, n_files, a.dir, a.runs))
        for k in cmds:
            print("  %-14s %7.1f ms  (%7.1f ms)" % (k, best[k] * 1000, mean[k] * 1000))
        for label, m in (("best", best), ("median", mean)):
            print("%-6s sandy/tar %.2fx (target <= 1.3x), umoci/sandy %.2fx (target >= 2x), "
                  "sandy-archive/sandy %.2fx" % (label, m["sandy"] / m["tar"], m["umoci"] / m["sandy"],
                                                 m["sandy-archive"] / m["sandy"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
