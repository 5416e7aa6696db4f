#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""unpack-watch.py OUT: until killed, record every process running sandy-helper's binary, other than the
service's main process, that has no child and whose root directory is not ours: during an OCI unpack that
is the child that extracts the layer. The confinement's own "(sandy-init)" is left out (see lib.sh). One line per process and per look:
pid= uid= capeff= nnp= seccomp= userns= netns= ifaces= (uid: real UID in the initial user namespace)."""
import os
import signal
import subprocess
import sys
import time

out = open(sys.argv[1], "a", buffering=1)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
root = os.stat("/")
seen = set()


def main_pid():
    r = subprocess.run(["systemctl", "show", "-P", "MainPID", "sandy-helper.service"], capture_output=True, text=True)
    return r.stdout.strip()


main = main_pid()
last = time.monotonic()
while True:
    if time.monotonic() - last > 1:
        main, last = main_pid(), time.monotonic()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == main or pid in seen:
            continue
        try:
            if not os.readlink(f"/proc/{pid}/exe").endswith("/sandy-helper"):
                continue
            r = os.stat(f"/proc/{pid}/root/")
            if (r.st_dev, r.st_ino) == (root.st_dev, root.st_ino):
                continue
            children = "".join(open(f"/proc/{pid}/task/{t}/children").read() for t in os.listdir(f"/proc/{pid}/task"))
            if children.strip():
                continue
            # Read last: the name is set before the root changes, so a "(sandy-init)" is always known.
            st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
            if st["Name"].strip() == "(sandy-init)":
                continue
            ifaces = sorted(l.split(":")[0].strip() for l in open(f"/proc/{pid}/net/dev").readlines()[2:])
            rec = {
                "pid": pid,
                "uid": st["Uid"].split()[0],
                "capeff": st["CapEff"].strip(),
                "nnp": st["NoNewPrivs"].strip(),
                "seccomp": st["Seccomp"].strip(),
                "userns": os.readlink(f"/proc/{pid}/ns/user"),
                "netns": os.readlink(f"/proc/{pid}/ns/net"),
                "ifaces": ",".join(ifaces),
            }
        except (OSError, KeyError, ValueError):
            continue
        seen.add(pid)
        print(" ".join(f"{k}={v}" for k, v in rec.items()), file=out)
    time.sleep(0.005)
