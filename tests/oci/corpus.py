#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The evil-layer corpus for oci_unpack(), as TAP.

usage: corpus.py OCI_UNPACK_TEST [CASE-GLOB]

Every case builds an image (OCI layout, OCI archive or docker-archive) with Python's tarfile, gzip and
hashlib, unpacks it with the driver into WORK/target and checks either a clear error (a regular
expression on stderr and exit status 1) or the exact resulting tree. In every case, success or not,
everything in WORK beside the target (a sentinel directory that the evil layers aim at with "../",
absolute paths, symlinks and hardlinks) must be unchanged, and host paths the layers name must not
appear. Needs root, since the extraction chroots.
"""

import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

DRIVER = None
MT_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}

# ---- tar entries ----


def F(name, data=b"", mode=0o644, uid=0, gid=0):
    t = tarfile.TarInfo(name)
    t.size, t.mode, t.uid, t.gid, t.mtime = len(data), mode, uid, gid, 1700000000
    return (t, data)


def D(name, mode=0o755):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.mtime = tarfile.DIRTYPE, mode, 1700000000
    return (t, None)


def L(name, target):
    t = tarfile.TarInfo(name)
    t.type, t.linkname, t.mode, t.mtime = tarfile.SYMTYPE, target, 0o777, 1700000000
    return (t, None)


def H(name, target):
    t = tarfile.TarInfo(name)
    t.type, t.linkname, t.mode, t.mtime = tarfile.LNKTYPE, target, 0o644, 1700000000
    return (t, None)


def DEV(name, kind, major, minor):
    t = tarfile.TarInfo(name)
    t.type = tarfile.CHRTYPE if kind == "c" else tarfile.BLKTYPE
    t.devmajor, t.devminor, t.mode, t.mtime = major, minor, 0o666, 1700000000
    return (t, None)


def FIFO(name):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.mtime = tarfile.FIFOTYPE, 0o644, 1700000000
    return (t, None)


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


# ---- image builders ----


class Layer:
    def __init__(self, entries, how="gzip", raw=None, tar_bytes=None, media_type=None):
        self.tar = tar_bytes if tar_bytes is not None else tar(entries)
        self.blob = raw if raw is not None else compress(self.tar, how)
        self.media_type = media_type or MT_LAYER[how]
        self.digest = sha(self.blob)
        self.size = len(self.blob)
        self.diff_id = sha(self.tar)


def write_blob(layout, data, name=None):
    d = sha(data)
    os.makedirs(os.path.join(layout, "blobs/sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs/sha256", name or d[7:]), "wb") as f:
        f.write(data)
    return {"digest": d, "size": len(data)}


def config_for(layers, diff_ids=None):
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids or [l.diff_id for l in layers]},
    }, sort_keys=True).encode()


def manifest_for(layout, layers, tamper=None, diff_ids=None):
    """Writes config and layer blobs, returns the manifest bytes. tamper(descriptors) may edit."""
    tamper = tamper or {}
    cfg = config_for(layers, diff_ids)
    cd = write_blob(layout, cfg)
    cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
    descs = []
    for l in layers:
        if not l.__dict__.get("missing"):
            write_blob(layout, l.blob)
        descs.append({"mediaType": l.media_type, "digest": l.digest, "size": l.size})
    if "layers" in tamper:
        tamper["layers"](descs)
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": cd, "layers": descs}, sort_keys=True).encode(), cfg


def make_oci(layout, layers, ref=None, tamper=None, diff_ids=None, extra_manifests=()):
    tamper = tamper or {}
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    m, cfg = manifest_for(layout, layers, tamper, diff_ids)
    md = write_blob(layout, m)
    md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    if ref:
        md["annotations"] = {"org.opencontainers.image.ref.name": ref}
    if "manifest_desc" in tamper:
        tamper["manifest_desc"](md, layout)
    entries = [md] + list(extra_manifests)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)
    return cfg


def make_oci_archive(path, layout):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for n in sorted(os.listdir(layout)):
            tf.add(os.path.join(layout, n), arcname=n)


def make_docker_archive(path, layers, tag, dup_symlink=False):
    cfg = config_for(layers)
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    members = [F(cfg_name, cfg)]
    names = []
    for i, l in enumerate(layers):
        lid = hashlib.sha256(b"v1-%d" % i).hexdigest()
        members.append(D(lid))
        if dup_symlink and i > 0:
            members.append(L(lid + "/layer.tar", "../" + names[0].split("/")[0] + "/layer.tar"))
        else:
            members.append(F(lid + "/layer.tar", l.tar))
        names.append(lid + "/layer.tar")
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [tag], "Layers": names}]).encode()
    members.append(F("manifest.json", manifest))
    with open(path, "wb") as f:
        f.write(tar(members, tarfile.USTAR_FORMAT))
    return cfg


# ---- trees ----


def snapshot(root, skip=None):
    """Everything under root except skip: path -> (type, mode, uid, gid, content or link)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip and os.path.abspath(dirpath) == os.path.abspath(skip):
            dirnames[:] = []
            continue
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if skip and os.path.abspath(p) == os.path.abspath(skip):
                continue
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                c = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    c = hashlib.sha256(f.read()).hexdigest()
            else:
                c = None
            out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                                             st.st_gid, st.st_nlink, c)
    return out


def tree(root):
    """Relative path -> short description, for comparing a whole unpacked tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "-> " + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[rel] = "file " + f.read().decode(errors="replace")
            elif stat.S_ISFIFO(st.st_mode):
                out[rel] = "fifo"
            else:
                out[rel] = "other %o" % st.st_mode
    return out


# ---- running ----

class Ctx:
    def __init__(self, work):
        self.work = work
        self.target = os.path.join(work, "target")
        self.sentinel = os.path.join(work, "sentinel")
        self.img = os.path.join(work, "img")
        os.mkdir(self.target)
        os.mkdir(self.img)
        os.mkdir(os.path.join(work, "proc"))  # the driver mounts /proc here, in its own namespace
        os.makedirs(os.path.join(self.sentinel, "sub"))
        with open(os.path.join(self.sentinel, "file"), "w") as f:
            f.write("sentinel\n")
        with open(os.path.join(self.sentinel, "sub/x"), "w") as f:
            f.write("x\n")
        os.symlink("file", os.path.join(self.sentinel, "link"))
        self.stderr = ""
        self.rc = None
        self.config_out = os.path.join(work, "config.json")

    def run(self, kind, location):
        # The driver chroots into the case's scratch directory first (OCI_TEST_JAIL), so paths are given
        # as seen from inside it; a broken unpacker then cannot touch anything outside that directory.
        def inside(path):
            assert path.startswith(self.work + "/"), path
            return path[len(self.work):]
        p = subprocess.run([DRIVER, kind, inside(location), inside(self.target), inside(self.config_out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, OCI_TEST_PROGRESS="1", OCI_TEST_JAIL=self.work))
        self.rc = p.returncode
        self.stderr = p.stderr.decode(errors="replace")
        return self.rc


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


def expect_error(ctx, pattern):
    expect(ctx.rc == 1, "expected failure (exit 1), got exit %s" % ctx.rc)
    expect(re.search(pattern, ctx.stderr), "stderr does not match /%s/" % pattern)


def expect_ok(ctx):
    expect(ctx.rc == 0, "expected success, got exit %s" % ctx.rc)


def expect_tree(ctx, want):
    got = tree(ctx.target)
    if got != want:
        lines = []
        for k in sorted(set(got) | set(want)):
            if got.get(k) != want.get(k):
                lines.append("%s: got %r, want %r" % (k, got.get(k), want.get(k)))
        raise Failure("tree differs:\n" + "\n".join(lines))


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def oci(ctx, layers, **kw):
    make_oci(ctx.img, layers, **kw)
    return ctx.run("oci", ctx.img + (":" + kw["ref"] if kw.get("ref") else ""))


# ---- the cases ----

@case
def basic_gzip(ctx):
    l = Layer([D("etc"), F("etc/hostname", b"box"), D("usr"), D("usr/bin"), F("usr/bin/tool", b"#!", 0o755),
               L("etc/alias", "hostname"), FIFO("run.fifo"), F("home/u/f", b"deep", uid=1000, gid=1000)])
    cfg = make_oci(ctx.img, [l])
    ctx.run("oci", ctx.img)
    expect_ok(ctx)
    expect_tree(ctx, {"etc": "dir", "etc/hostname": "file box", "etc/alias": "-> hostname", "usr": "dir",
                      "usr/bin": "dir", "usr/bin/tool": "file #!", "run.fifo": "fifo", "home": "dir",
                      "home/u": "dir", "home/u/f": "file deep"})
    st = os.lstat(os.path.join(ctx.target, "home/u/f"))
    expect((st.st_uid, st.st_gid) == (1000, 1000), "numeric owner kept")
    expect(stat.S_IMODE(os.lstat(os.path.join(ctx.target, "usr/bin/tool")).st_mode) == 0o755, "mode kept")
    expect(os.lstat(os.path.join(ctx.target, "etc/hostname")).st_mtime == 1700000000, "mtime kept")
    with open(ctx.config_out, "rb") as f:
        expect(f.read() == cfg, "config returned byte for byte")
    expect(re.search(r"progress 0\.000 layer 1/1", ctx.stderr), "progress per layer")
    expect(re.search(r"progress 1\.000 done", ctx.stderr), "progress at the end")


@case
def traversal_relative(ctx):
    oci(ctx, [Layer([F("ok", b"1"), F("../sentinel/file", b"pwned")])])
    expect_error(ctx, r'entry "\.\./sentinel/file": "\.\." in a path is not allowed')


@case
def traversal_deep(ctx):
    oci(ctx, [Layer([F("a/../../../../../../.." + ctx.sentinel + "/new", b"pwned")])])
    expect_error(ctx, r'"\.\." in a path is not allowed')


@case
def traversal_hidden_in_middle(ctx):
    oci(ctx, [Layer([D("a"), F("a/./../../sentinel/x", b"pwned")])])
    expect_error(ctx, r'"\.\." in a path is not allowed')


@case
def absolute_path(ctx):
    oci(ctx, [Layer([F(ctx.sentinel + "/abs", b"in tree"), F("/etc/sandy-oci-test-abs", b"in tree")])])
    expect_ok(ctx)
    expect(not os.path.lexists("/etc/sandy-oci-test-abs"), "host /etc untouched")
    t = tree(ctx.target)
    expect(t.get(os.path.relpath(ctx.sentinel + "/abs", "/")) == "file in tree", "absolute name lands in tree")
    expect(t.get("etc/sandy-oci-test-abs") == "file in tree", "absolute /etc name lands in tree")


@case
def symlink_escape_absolute(ctx):
    # A symlink to the sentinel's absolute host path, then a file below it.
    oci(ctx, [Layer([L("link", ctx.sentinel), F("link/file", b"pwned"), F("link/new", b"pwned")])])
    # Inside the chroot the link dangles: either an error or a tree, never the sentinel.
    if ctx.rc == 0:
        expect(os.path.islink(os.path.join(ctx.target, "link")), "link kept")
    else:
        expect_error(ctx, r'entry "link/file"')


@case
def symlink_escape_root(ctx):
    oci(ctx, [Layer([L("root", "/"), L("up", "../../../.."), D("etc"), F("root/etc/x", b"a"), F("up/y", b"b")])])
    expect_ok(ctx)
    t = tree(ctx.target)
    expect(t.get("etc/x") == "file a", "root/etc/x resolves inside: etc/x")
    expect(t.get("y") == "file b", "up/y resolves inside: y")


@case
def symlink_dotdot_chain(ctx):
    oci(ctx, [Layer([D("a"), L("a/b", ".."), L("c", "a/b/a/b/a/b/../../../../../../../.."),
                     F("c/escaped", b"in"), F("a/b/a/b/twice", b"in2")])])
    expect_ok(ctx)
    t = tree(ctx.target)
    expect(t.get("escaped") == "file in", "symlink chain resolves to the tree root")
    expect(t.get("twice") == "file in2", "a/b/a/b is the root")


@case
def symlink_then_overwrite(ctx):
    # Layer 1 has etc/passwd as a symlink out; layer 2 writes etc/passwd: the symlink is replaced.
    oci(ctx, [Layer([D("etc"), L("etc/passwd", ctx.sentinel + "/file")]),
              Layer([F("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")])])
    expect_ok(ctx)
    expect(tree(ctx.target)["etc/passwd"].startswith("file root:"), "regular file replaced the symlink")


@case
def hardlink_escape_absolute(ctx):
    before = os.stat("/etc/passwd").st_nlink
    oci(ctx, [Layer([F("a", b"1"), H("pw", "/etc/passwd"), H("s", ctx.sentinel + "/file")])])
    expect_error(ctx, r'entry "pw"')
    expect(os.stat("/etc/passwd").st_nlink == before, "host /etc/passwd not linked")


@case
def hardlink_escape_dotdot(ctx):
    oci(ctx, [Layer([H("s", "../sentinel/file")])])
    expect_error(ctx, r'hardlink "s" -> "\.\./sentinel/file": "\.\." in a link target is not allowed')


@case
def hardlink_through_symlink(ctx):
    # The link target's parent is a symlink out of the tree: resolved inside, so it fails (dangling).
    oci(ctx, [Layer([L("out", ctx.sentinel), H("h", "out/file")])])
    expect_error(ctx, r'entry "h"')


@case
def hardlink_inside(ctx):
    oci(ctx, [Layer([D("etc"), F("etc/passwd", b"pw"), H("etc/passwd-", "/etc/passwd"), H("b", "etc/passwd")])])
    expect_ok(ctx)
    a, b, c = (os.lstat(os.path.join(ctx.target, p)) for p in ("etc/passwd", "etc/passwd-", "b"))
    expect(a.st_ino == b.st_ino == c.st_ino and a.st_nlink == 3, "hardlinks share the inode")


@case
def device_nodes(ctx):
    oci(ctx, [Layer([D("dev"), DEV("dev/null", "c", 1, 3), DEV("dev/sda", "b", 8, 0), DEV("dev/wh", "c", 0, 0),
                     H("dev/null2", "dev/null"), FIFO("dev/fifo"), F("dev/.keep", b"")])])
    expect_ok(ctx)
    expect_tree(ctx, {"dev": "dir", "dev/fifo": "fifo", "dev/.keep": "file "})
    expect(re.search(r"3 device node\(s\) left out", ctx.stderr), "dropped devices reported")


@case
def setuid_setgid(ctx):
    oci(ctx, [Layer([D("usr"), D("usr/bin"), F("usr/bin/su", b"su", 0o4755), F("usr/bin/wall", b"w", 0o2755, gid=5),
                     D("var", 0o755), D("var/mail", 0o2775), D("tmp", 0o1777), D("ro", 0o555), F("ro/f", b"r", 0o444)])])
    expect_ok(ctx)
    m = lambda p: stat.S_IMODE(os.lstat(os.path.join(ctx.target, p)).st_mode)
    expect(m("usr/bin/su") == 0o4755, "setuid kept: %o" % m("usr/bin/su"))
    expect(m("usr/bin/wall") == 0o2755, "setgid kept")
    expect(m("var/mail") == 0o2775, "setgid dir kept")
    expect(m("tmp") == 0o1777, "sticky kept")
    expect(m("ro") == 0o555, "read-only dir filled, then made read-only")


@case
def whiteout_lower(ctx):
    oci(ctx, [Layer([D("etc"), F("etc/a", b"a"), F("etc/b", b"b"), D("dir"), D("dir/sub"), F("dir/sub/x", b"x"),
                     F("top", b"t")]),
              Layer([F("etc/.wh.a", b""), F("dir/.wh.sub", b""), F(".wh.top", b""), F("etc/.wh.nonexistent", b""),
                     F("etc/c", b"c")])])
    expect_ok(ctx)
    expect_tree(ctx, {"etc": "dir", "etc/b": "file b", "etc/c": "file c", "dir": "dir"})


@case
def whiteout_same_layer_kept(ctx):
    # A whiteout only hides lower layers: the file this layer writes (before or after) stays.
    oci(ctx, [Layer([F("a", b"old"), F("b", b"old")]),
              Layer([F("a", b"new"), F(".wh.a", b""), F(".wh.b", b""), F("b", b"new")])])
    expect_ok(ctx)
    expect_tree(ctx, {"a": "file new", "b": "file new"})


@case
def whiteout_symlinked_parent(ctx):
    oci(ctx, [Layer([L("out", ctx.sentinel), L("rel", "../sentinel"), L("root", "/"), F("victim", b"v"),
                     F("keep", b"k")]),
              Layer([F("out/.wh.file", b""), F("out/.wh.sub", b""), F("rel/.wh.file", b""), F("root/.wh.victim", b"")])])
    expect_ok(ctx)
    # root -> / is the tree's root: victim goes (inside); the sentinel stays (checked for every case).
    expect_tree(ctx, {"out": "-> " + ctx.sentinel, "rel": "-> ../sentinel", "root": "-> /", "keep": "file k"})


@case
def opaque_dir(ctx):
    oci(ctx, [Layer([D("d"), F("d/a", b"a"), D("d/sub"), F("d/sub/b", b"b"), F("d/sub/keep", b"k"), F("other", b"o")]),
              Layer([D("d"), F("d/new1", b"1"), F("d/sub/c", b"c"), F("d/.wh..wh..opq", b""), F("d/new2", b"2")])])
    expect_ok(ctx)
    expect_tree(ctx, {"d": "dir", "d/new1": "file 1", "d/new2": "file 2", "d/sub": "dir", "d/sub/c": "file c",
                      "other": "file o"})


@case
def opaque_root_and_aufs(ctx):
    oci(ctx, [Layer([F("a", b"a"), D("x"), F("x/y", b"y")]),
              Layer([D("x"), F(".wh..wh..opq", b""), F("b", b"b"), D(".wh..wh.plnk"), F(".wh..wh.plnk/123", b""),
                     F("x/.wh..wh..opq", b"")])])
    expect_ok(ctx)
    expect_tree(ctx, {"b": "file b", "x": "dir"})


@case
def duplicate_paths(ctx):
    oci(ctx, [Layer([F("f", b"first"), F("f", b"second"), F("g", b"file"), D("g"), F("g/in", b"i"), D("h"),
                     F("h/x", b"x"), F("h", b"now a file"), L("s", "f"), F("s", b"not a link")])])
    expect_ok(ctx)
    expect_tree(ctx, {"f": "file second", "g": "dir", "g/in": "file i", "h": "file now a file", "s": "file not a link"})


@case
def file_replaces_lower_dir(ctx):
    oci(ctx, [Layer([D("p"), D("p/q"), F("p/q/r", b"r"), F("hl", b"shared"), H("hl2", "hl")]),
              Layer([F("p", b"file"), F("hl2", b"own")])])
    expect_ok(ctx)
    expect_tree(ctx, {"p": "file file", "hl": "file shared", "hl2": "file own"})


@case
def truncated_gzip(ctx):
    t = tar([F("a", os.urandom(200000))])
    z = gzip.compress(t, mtime=0)[:-5000]
    oci(ctx, [Layer(None, tar_bytes=t, raw=z)])
    expect_error(ctx, r"[Tt]runcated|unexpected end|Damaged|premature")


@case
def garbage_gzip(ctx):
    oci(ctx, [Layer(None, tar_bytes=b"", raw=os.urandom(4096))])
    expect_error(ctx, r"media type says gzip, the data is uncompressed tar")


@case
def gzip_header_then_garbage(ctx):
    z = gzip.compress(b"x" * 100, mtime=0)[:12] + os.urandom(4000)
    oci(ctx, [Layer(None, tar_bytes=b"", raw=z)])
    expect_error(ctx, r"blob sha256:[0-9a-f]{64}: ")


@case
def gzip_of_garbage(ctx):
    oci(ctx, [Layer(None, tar_bytes=os.urandom(3000) + b"\0" * 1024, raw=None, how="gzip")])
    expect_error(ctx, r"Layer 1/1 blob sha256:[0-9a-f]{64}: tar: ")


@case
def blob_digest_mismatch(ctx):
    # Same size, other bytes, stored under the digest the descriptor names.
    l = Layer([F("a", b"a")], how="none")
    evil = tar([F("a", b"b")])
    assert len(evil) == l.size
    make_oci(ctx.img, [l])
    with open(os.path.join(ctx.img, "blobs/sha256", l.digest[7:]), "wb") as f:
        f.write(evil)
    ctx.run("oci", ctx.img)
    expect_error(ctx, r"blob %s: digest mismatch, content is %s" % (l.digest, sha(evil)))


@case
def diff_id_mismatch(ctx):
    l = Layer([F("a", b"a")])
    oci(ctx, [l], diff_ids=[sha(b"something else")])
    expect_error(ctx, r"uncompressed content is %s, the config's diff_id says %s" % (l.diff_id, sha(b"something else")))


@case
def layer_size_mismatch(ctx):
    l = Layer([F("a", b"a" * 1000)])
    oci(ctx, [l], tamper={"layers": lambda ds: ds[0].update(size=ds[0]["size"] - 10)})
    expect_error(ctx, r"Layer 1/1 blob %s: size is more than %d bytes" % (l.digest, l.size - 10))


@case
def layer_size_too_small(ctx):
    l = Layer([F("a", b"a" * 1000)])
    oci(ctx, [l], tamper={"layers": lambda ds: ds[0].update(size=ds[0]["size"] + 10)})
    expect_error(ctx, r"size is %d bytes, descriptor says %d" % (l.size, l.size + 10))


@case
def manifest_size_mismatch(ctx):
    oci(ctx, [Layer([F("a", b"a")])], tamper={"manifest_desc": lambda md, _: md.update(size=md["size"] + 1)})
    expect_error(ctx, r"blob sha256:[0-9a-f]{64} is \d+ bytes, its descriptor says \d+")


@case
def manifest_digest_mismatch(ctx):
    def tamper(md, layout):
        p = os.path.join(layout, "blobs/sha256", md["digest"][7:])
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(data.replace(b'"schemaVersion": 2', b'"schemaVersion": 3'))
    oci(ctx, [Layer([F("a", b"a")])], tamper={"manifest_desc": tamper})
    expect_error(ctx, r"blob sha256:[0-9a-f]{64}: digest mismatch")


@case
def missing_blob(ctx):
    l = Layer([F("a", b"a")])
    l.missing = True
    oci(ctx, [l])
    expect_error(ctx, r"layer 1/1 %s is missing" % l.digest)


@case
def bad_digest_string(ctx):
    oci(ctx, [Layer([F("a", b"a")])], tamper={"layers": lambda ds: ds[0].update(digest="sha256:../../../etc/passwd")})
    expect_error(ctx, r"only sha256:<64 hex digits> is supported")


@case
def index_two_manifests_no_ref(ctx):
    other = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(b"x"), "size": 1,
             "annotations": {"org.opencontainers.image.ref.name": "other"}}
    make_oci(ctx.img, [Layer([F("a", b"a")])], ref="latest", extra_manifests=[other])
    ctx.run("oci", ctx.img)
    expect_error(ctx, r'index.json lists 2 images; name one as PATH:REF \(names: "latest", "other"\)')


@case
def index_two_manifests_ref(ctx):
    other = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(b"x"), "size": 1,
             "annotations": {"org.opencontainers.image.ref.name": "other"}}
    make_oci(ctx.img, [Layer([F("a", b"a")])], ref="latest", extra_manifests=[other])
    ctx.run("oci", ctx.img + ":latest")
    expect_ok(ctx)
    expect_tree(ctx, {"a": "file a"})
    ctx.run("oci", ctx.img + ":nope")
    expect_error(ctx, r'no image with that name \(names: "latest", "other"\)')


@case
def image_index_platform(ctx):
    l_amd, l_arm = Layer([F("arch", b"amd64")]), Layer([F("arch", b"arm64")])
    with open(os.path.join(ctx.img, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs = []
    for l, arch in ((l_arm, "arm64"), (l_amd, "amd64")):
        m, _ = manifest_for(ctx.img, [l])
        d = write_blob(ctx.img, m)
        d.update(mediaType="application/vnd.oci.image.manifest.v1+json", platform={"os": "linux", "architecture": arch})
        descs.append(d)
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs}).encode()
    d = write_blob(ctx.img, idx)
    d.update(mediaType="application/vnd.oci.image.index.v1+json", annotations={"org.opencontainers.image.ref.name": "v1"})
    with open(os.path.join(ctx.img, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [d]}, f)
    ctx.run("oci", ctx.img + ":v1")
    expect_ok(ctx)
    expect_tree(ctx, {"arch": "file amd64"})


@case
def zstd_layer(ctx):
    if not shutil.which("zstd"):
        raise Skip("zstd(1) not installed")
    oci(ctx, [Layer([F("z", b"zstd data" * 1000)], how="zstd"), Layer([F("y", b"y")], how="none")])
    expect_ok(ctx)
    expect(tree(ctx.target)["z"] == "file " + "zstd data" * 1000, "zstd layer")


@case
def zstd_declared_gzip(ctx):
    if not shutil.which("zstd"):
        raise Skip("zstd(1) not installed")
    oci(ctx, [Layer([F("z", b"z")], how="zstd", media_type=MT_LAYER["gzip"])])
    expect_error(ctx, r"media type says gzip, the data is zstd")


@case
def plain_layer(ctx):
    oci(ctx, [Layer([F("p", b"plain"), D("q")], how="none")])
    expect_ok(ctx)
    expect_tree(ctx, {"p": "file plain", "q": "dir"})


@case
def plain_declared_gzip(ctx):
    oci(ctx, [Layer([F("p", b"plain")], how="none", media_type=MT_LAYER["gzip"])])
    expect_error(ctx, r"media type says gzip, the data is uncompressed tar")


@case
def unknown_media_type(ctx):
    oci(ctx, [Layer([F("p", b"plain")], how="none", media_type="application/x-evil")])
    expect_error(ctx, r"unsupported media type application/x-evil")


@case
def docker_archive(ctx):
    layers = [Layer([D("etc"), F("etc/os", b"one"), F("gone", b"g")], how="none"),
              Layer([F("etc/os", b"two"), F(".wh.gone", b"")], how="none")]
    path = os.path.join(ctx.img, "img.tar")
    cfg = make_docker_archive(path, layers, "example/box:1.0")
    ctx.run("docker-archive", path + ":example/box:1.0")
    expect_ok(ctx)
    expect_tree(ctx, {"etc": "dir", "etc/os": "file two"})
    with open(ctx.config_out, "rb") as f:
        expect(f.read() == cfg, "config returned")
    ctx.run("docker-archive", path + ":example/box:2.0")
    expect_error(ctx, r'no image tagged example/box:2.0 \(tags: "example/box:1.0"\)')


@case
def docker_archive_symlinked_layer(ctx):
    l = Layer([F("same", b"s")], how="none")
    path = os.path.join(ctx.img, "img.tar")
    make_docker_archive(path, [l, l], "box:latest", dup_symlink=True)
    ctx.run("docker-archive", path + ":box")
    expect_ok(ctx)
    expect_tree(ctx, {"same": "file s"})


@case
def docker_archive_diff_id_mismatch(ctx):
    l = Layer([F("a", b"a")], how="none")
    path = os.path.join(ctx.img, "img.tar")
    make_docker_archive(path, [l], "box:latest")
    # Swap the layer content for another of the same length, keep the config.
    with open(path, "rb") as f:
        data = f.read()
    evil = tar([F("a", b"b")])
    assert len(evil) == len(l.tar)
    data = data.replace(l.tar, evil)
    with open(path, "wb") as f:
        f.write(data)
    ctx.run("docker-archive", path)
    expect_error(ctx, r"uncompressed content is %s, the config's diff_id says %s" % (sha(evil), l.diff_id))


@case
def docker_archive_oci_style(ctx):
    # Docker 25 writes blobs/sha256/HEX names; layers may also be compressed (no media type to check).
    l1 = Layer([F("one", b"1")], how="none")
    l2 = Layer([F("two", b"2")], how="gzip")
    cfg = config_for([l1, l2])
    members = [D("blobs"), D("blobs/sha256"), F("blobs/sha256/" + sha(cfg)[7:], cfg)]
    for l in (l1, l2):
        members.append(F("blobs/sha256/" + l.digest[7:], l.blob))
    manifest = json.dumps([{"Config": "blobs/sha256/" + sha(cfg)[7:], "RepoTags": ["a:1", "b:2"],
                            "Layers": ["blobs/sha256/" + l.digest[7:] for l in (l1, l2)]}]).encode()
    members.append(F("manifest.json", manifest))
    path = os.path.join(ctx.img, "img.tar")
    with open(path, "wb") as f:
        f.write(tar(members))
    ctx.run("docker-archive", path + ":b:2")
    expect_ok(ctx)
    expect_tree(ctx, {"one": "file 1", "two": "file 2"})


@case
def docker_archive_ambiguous(ctx):
    l = Layer([F("a", b"a")], how="none")
    cfg = config_for([l])
    cn = sha(cfg)[7:] + ".json"
    m = json.dumps([{"Config": cn, "RepoTags": ["x:1"], "Layers": ["l/layer.tar"]},
                    {"Config": cn, "RepoTags": ["y:1"], "Layers": ["l/layer.tar"]}]).encode()
    path = os.path.join(ctx.img, "img.tar")
    with open(path, "wb") as f:
        f.write(tar([F(cn, cfg), F("l/layer.tar", l.tar), F("manifest.json", m)]))
    ctx.run("docker-archive", path)
    expect_error(ctx, r'2 images match; name one as PATH:NAME:TAG \(tags: "x:1", "y:1"\)')
    ctx.run("docker-archive", path + ":y:1")
    expect_ok(ctx)


@case
def blob_symlinked_out_of_layout(ctx):
    l = Layer([F("a", b"a")], how="none")
    layout = os.path.join(ctx.img, "layout")
    make_oci(layout, [l])
    p = os.path.join(layout, "blobs/sha256", l.digest[7:])
    shutil.copy(p, os.path.join(ctx.img, "outside-blob"))
    os.unlink(p)
    # Relative, so that it resolves the same inside the driver's jail: the blob exists, but not in the layout.
    os.symlink("../../../outside-blob", p)
    expect(os.path.exists(p), "the symlinked blob resolves")
    ctx.run("oci", layout)
    # Refused before anything is read (the rule of sandy_read_setup(), no symlink followed).
    expect_error(ctx, r"symlink /img/layout/blobs/sha256/%s is on the way, and no symlink is followed here" % l.digest[7:])


@case
def newline_in_name(ctx):
    oci(ctx, [Layer([F("../x\ne forged\nw forged", b"")])])
    expect_error(ctx, r'entry "\.\./x\?e forged\?w forged": "\.\." in a path is not allowed')
    expect(not re.search(r"^(Layer 1/1: )?forged", ctx.stderr, re.M), "no forged message lines")


@case
def oci_archive(ctx):
    layout = os.path.join(ctx.img, "layout")
    make_oci(layout, [Layer([F("from", b"archive")]), Layer([F("second", b"2")], how="none")], ref="stable")
    path = os.path.join(ctx.img, "img.oci.tar")
    make_oci_archive(path, layout)
    ctx.run("oci-archive", path + ":stable")
    expect_ok(ctx)
    expect_tree(ctx, {"from": "file archive", "second": "file 2"})


@case
def oci_archive_blob_mismatch(ctx):
    layout = os.path.join(ctx.img, "layout")
    l = Layer([F("from", b"archive")], how="none")
    make_oci(layout, [l])
    with open(os.path.join(layout, "blobs/sha256", l.digest[7:]), "wb") as f:
        f.write(tar([F("from", b"evil!!!")]))
    path = os.path.join(ctx.img, "img.oci.tar")
    make_oci_archive(path, layout)
    ctx.run("oci-archive", path)
    expect_error(ctx, r"blob %s: digest mismatch" % l.digest)


@case
def usrmerge(ctx):
    oci(ctx, [Layer([D("usr"), D("usr/bin"), D("usr/lib"), L("bin", "usr/bin"), L("lib", "usr/lib"),
                     F("usr/bin/sh", b"sh", 0o755)]),
              Layer([D("bin"), F("bin/x", b"x", 0o755), D("lib/"), F("lib/libx.so", b"so"), F("/bin/abs", b"a")])])
    expect_ok(ctx)
    expect_tree(ctx, {"usr": "dir", "usr/bin": "dir", "usr/lib": "dir", "bin": "-> usr/bin", "lib": "-> usr/lib",
                      "usr/bin/sh": "file sh", "usr/bin/x": "file x", "usr/lib/libx.so": "file so",
                      "usr/bin/abs": "file a"})


@case
def xattrs_filtered(ctx):
    t = tarfile.TarInfo("cap")
    t.size, t.mode, t.mtime = 1, 0o755, 1700000000
    t.pax_headers = {"SCHILY.xattr.user.test": "kept", "SCHILY.xattr.trusted.overlay.opaque": "y"}
    oci(ctx, [Layer([(t, b"c")])])
    expect_ok(ctx)
    p = os.path.join(ctx.target, "cap")
    names = os.listxattr(p)
    expect("trusted.overlay.opaque" not in names, "trusted.* dropped: %r" % names)
    try:
        expect(os.getxattr(p, "user.test") == b"kept", "user.* kept")
    except OSError as e:
        raise Skip("user xattrs not supported here: %s" % e)


@case
def utf8_and_long_names(ctx):
    long = "l/" + "x" * 200 + "/" + "y" * 150
    oci(ctx, [Layer([F("ünïcødé", b"u"), F(long, b"long")])])
    expect_ok(ctx)
    t = tree(ctx.target)
    expect(t.get("ünïcødé") == "file u", "UTF-8 name")
    expect(t.get(long) == "file long", "long name")


@case
def many_layers_progress(ctx):
    layers = [Layer([F("f%d" % i, os.urandom(5 << 20))]) for i in range(3)]
    oci(ctx, layers)
    expect_ok(ctx)
    fr = [float(x) for x in re.findall(r"progress ([0-9.]+) layer", ctx.stderr)]
    expect(len(fr) >= 5, "progress called per layer and by bytes: %r" % fr)
    expect(fr == sorted(fr), "progress never goes back: %r" % fr)


class Skip(Exception):
    pass


def main():
    global DRIVER
    DRIVER = os.path.abspath(sys.argv[1])
    pattern = sys.argv[2] if len(sys.argv) > 2 else "*"
    if os.geteuid() != 0:
        print("1..0 # SKIP: needs root (the unpacker chroots)")
        return 0
    cases = [c for c in CASES if fnmatch.fnmatch(c.__name__, pattern)]
    failed = 0
    for i, c in enumerate(cases, 1):
        work = tempfile.mkdtemp(prefix="sandy-oci-")
        try:
            ctx = Ctx(work)
            before = snapshot(work, skip=ctx.target)
            etc_before = sorted(os.listdir("/etc"))
            c(ctx)
            # Beside the target only the image, the config output and the sentinel exist, unchanged.
            after = snapshot(work, skip=ctx.target)
            for k in list(after):
                if k == "config.json" or k == "img" or k.startswith("img/"):
                    after.pop(k)
            for k in list(before):
                if k == "img" or k.startswith("img/"):
                    before.pop(k)
            expect(before == after, "outside the target changed: %r" % (set(before.items()) ^ set(after.items())))
            expect(sorted(os.listdir("/etc")) == etc_before, "host /etc changed")
            print("ok %d - %s" % (i, c.__name__))
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, c.__name__, e))
        except Failure as e:
            failed += 1
            print("not ok %d - %s" % (i, c.__name__))
            for line in str(e).splitlines():
                print("# " + line)
            for line in ctx.stderr.splitlines()[-15:]:
                print("#   stderr: " + line)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("1..%d" % len(cases))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
