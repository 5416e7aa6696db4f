#!/usr/bin/env python3
"""Derive an image from an OCI archive by adding one layer, for tests that need images of their own
(hostile ones included) without a new fixture build.

    oci-add-layer.py BASE.oci.tar DIR OUT FORMAT [--whiteout PATH]...

BASE.oci.tar is an oci-archive with one image (the fixture). DIR becomes the new top layer (gzip tar,
numeric owners root:root unless the files say otherwise, modes kept); --whiteout PATH adds a .wh. entry
that hides PATH of the lower layers. FORMAT is oci-archive (OUT is a tar), oci (OUT is a layout
directory) or docker-archive (OUT is a tar in the layout `docker save` of Docker 25 writes). Every digest
is the sha256 of its blob and every diff_id that of the uncompressed layer, as an unpacker checks.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_base(path):
    with tarfile.open(path) as t:
        def blob(digest):
            return t.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()
        index = json.loads(t.extractfile("index.json").read())
        mdesc = index["manifests"][0]
        manifest = json.loads(blob(mdesc["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        layers = [(d, blob(d["digest"])) for d in manifest["layers"]]
    return manifest, config, layers


def layer_from_dir(src, whiteouts):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(root, name)
                arc = os.path.relpath(full, src)
                info = t.gettarinfo(full, arc)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isreg():
                    with open(full, "rb") as f:
                        t.addfile(info, f)
                else:
                    t.addfile(info)
        for w in whiteouts:
            d, b = os.path.split(w.strip("/"))
            info = tarfile.TarInfo(os.path.join(d, ".wh." + b))
            info.mtime = 0
            t.addfile(info, io.BytesIO(b""))
    tar = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as g:
        g.write(tar)
    return tar, gz.getvalue()


def write_layout(out, blobs, index):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    for digest, data in blobs.items():
        with open(os.path.join(out, "blobs", "sha256", digest.split(":", 1)[1]), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    if index is not None:
        with open(os.path.join(out, "index.json"), "w") as f:
            json.dump(index, f)


def tar_dir(src, out):
    with tarfile.open(out, "w") as t:
        for name in sorted(os.listdir(src)):
            t.add(os.path.join(src, name), name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("format", choices=["oci-archive", "oci", "docker-archive"])
    ap.add_argument("--whiteout", action="append", default=[])
    a = ap.parse_args()

    manifest, config, layers = read_base(a.base)
    tar, gz = layer_from_dir(a.dir, a.whiteout)
    new = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz), "size": len(gz)}
    config["rootfs"]["diff_ids"].append(sha(tar))
    config.setdefault("history", []).append({"created_by": "oci-add-layer.py"})
    cfg = json.dumps(config, sort_keys=True).encode()
    blobs = {d["digest"]: data for d, data in layers}
    blobs[new["digest"]] = gz
    blobs[sha(cfg)] = cfg
    manifest["layers"] = [d for d, _ in layers] + [new]
    manifest["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg),
                          "size": len(cfg)}
    man = json.dumps(manifest, sort_keys=True).encode()
    blobs[sha(man)] = man
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                "digest": sha(man), "size": len(man),
                                                "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}

    with tempfile.TemporaryDirectory() as tmp:
        layout = a.out if a.format == "oci" else os.path.join(tmp, "layout")
        if a.format == "oci" and os.path.exists(layout):
            shutil.rmtree(layout)
        if a.format == "docker-archive":
            write_layout(layout, blobs, None)
            dm = [{"Config": "blobs/sha256/" + sha(cfg).split(":", 1)[1], "RepoTags": ["sandy/test:latest"],
                   "Layers": ["blobs/sha256/" + d["digest"].split(":", 1)[1] for d in manifest["layers"]]}]
            with open(os.path.join(layout, "manifest.json"), "w") as f:
                json.dump(dm, f)
            os.unlink(os.path.join(layout, "oci-layout"))
        else:
            write_layout(layout, blobs, index)
        if a.format != "oci":
            tar_dir(layout, a.out)


if __name__ == "__main__":
    main()
