#!/usr/bin/env python3
"""Pack a root filesystem directory into an OCI image archive (oci-archive).

    mkoci.py ROOTFS OUT.tar [--ref latest] [--mtime EPOCH] [--arch amd64]

The archive is a tar of an OCI image layout (oci-layout, index.json,
blobs/sha256/...) holding one gzip layer, its config and manifest; every
digest is the sha256 of the blob. Output is deterministic: entries sorted,
fixed mtimes, gzip header without name/time. Symlinks, hard links, modes
(incl. setuid), numeric uid/gid and xattrs are kept; device nodes and
sockets are skipped (an OCI unpacker must not create them anyway).
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import tempfile


class HashingWriter:
    """File-like sink that hashes and counts what passes through."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)

    def flush(self):
        if self.out is not None:
            self.out.flush()

    def digest(self):
        return "sha256:" + self.sha.hexdigest()


def _walk_dir(root, rel):
    full = os.path.join(root, rel)
    for name in sorted(os.listdir(full)):
        child = os.path.join(rel, name)
        yield child
        st = os.lstat(os.path.join(root, child))
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, child)


def iter_tree(root):
    for name in sorted(os.listdir(root)):
        yield name
        if stat.S_ISDIR(os.lstat(os.path.join(root, name)).st_mode):
            yield from _walk_dir(root, name)


def xattrs_of(path):
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in sorted(names):
        try:
            out["SCHILY.xattr." + n] = os.getxattr(path, n, follow_symlinks=False).decode(
                "utf-8", "surrogateescape")
        except OSError:
            pass
    return out


def write_layer(root, fileobj, mtime):
    """Write the layer tar of ROOT into FILEOBJ; return counts of skipped entries."""
    skipped = 0
    seen_inodes = {}
    with tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as tar:
        for rel in iter_tree(root):
            full = os.path.join(root, rel)
            st = os.lstat(full)
            mode = st.st_mode
            ti = tarfile.TarInfo(rel)
            ti.mode = stat.S_IMODE(mode)
            ti.uid, ti.gid = st.st_uid, st.st_gid
            ti.uname = ti.gname = ""
            ti.mtime = mtime
            pax = xattrs_of(full)
            if pax:
                ti.pax_headers = pax
            data = None
            if stat.S_ISDIR(mode):
                ti.type = tarfile.DIRTYPE
            elif stat.S_ISLNK(mode):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(full)
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    ti.type = tarfile.LNKTYPE
                    ti.linkname = seen_inodes[key]
                else:
                    if st.st_nlink > 1:
                        seen_inodes[key] = rel
                    ti.type = tarfile.REGTYPE
                    ti.size = st.st_size
                    data = full
            elif stat.S_ISFIFO(mode):
                ti.type = tarfile.FIFOTYPE
            else:  # device nodes, sockets
                skipped += 1
                continue
            if data is None:
                tar.addfile(ti)
            else:
                with open(data, "rb") as f:
                    tar.addfile(ti, f)
    return skipped


def blob(layout_files, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    layout_files.append(("blobs/sha256/" + digest[7:], data))
    return digest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rootfs")
    ap.add_argument("out")
    ap.add_argument("--ref", default="latest")
    ap.add_argument("--mtime", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    ap.add_argument("--arch", default="amd64")
    ap.add_argument("--cmd", default="/bin/bash")
    args = ap.parse_args()

    outdir = os.path.dirname(os.path.abspath(args.out))
    with tempfile.TemporaryFile(dir=outdir) as layer:
        compressed = HashingWriter(layer)
        # mtime=0 and no filename keep the gzip header deterministic.
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=6)
        plain = HashingWriter(gz)
        skipped = write_layer(args.rootfs, plain, args.mtime)
        gz.close()
        layer_digest, layer_size = compressed.digest(), compressed.size
        diff_id = plain.digest()

        created = datetime.datetime.fromtimestamp(
            args.mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        files = []
        config = json.dumps({
            "created": created,
            "architecture": args.arch,
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": [args.cmd],
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": "sandy tests/testhost/mkoci.py"}],
        }, sort_keys=True, separators=(",", ":")).encode()
        config_digest = blob(files, config)
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest, "size": layer_size}],
        }, sort_keys=True, separators=(",", ":")).encode()
        manifest_digest = blob(files, manifest)
        index = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": len(manifest),
                           "annotations": {"org.opencontainers.image.ref.name": args.ref}}],
        }, sort_keys=True, separators=(",", ":")).encode()

        tmp_out = args.out + ".tmp"
        with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as arc:
            def add_bytes(name, data):
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode, ti.mtime = len(data), 0o644, args.mtime
                arc.addfile(ti, io.BytesIO(data))

            def add_dir(name):
                ti = tarfile.TarInfo(name)
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, args.mtime
                arc.addfile(ti)

            add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            add_bytes("index.json", index)
            add_dir("blobs")
            add_dir("blobs/sha256")
            entries = files + [("blobs/sha256/" + layer_digest[7:], None)]
            for name, data in sorted(entries):
                if data is not None:
                    add_bytes(name, data)
                else:
                    layer.seek(0)
                    ti = tarfile.TarInfo(name)
                    ti.size, ti.mode, ti.mtime = layer_size, 0o644, args.mtime
                    arc.addfile(ti, layer)
        os.replace(tmp_out, args.out)

    print(json.dumps({"manifest": manifest_digest, "config": config_digest,
                      "layer": layer_digest, "diff_id": diff_id, "layer_size": layer_size,
                      "skipped_special_files": skipped}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
