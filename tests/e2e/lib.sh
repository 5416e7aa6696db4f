# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for sandy's e2e tests. They run inside the booted test host, as root, with a real systemd.
set -uo pipefail
# TAP (tap_check, tap_check_fails, tap_skip, tap_done), as_user, canary and fixture helpers:
. "$(dirname "${BASH_SOURCE[0]}")/../testhost/e2e-lib.sh"

# wait_for SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.2
        done
}

# The fixture base image, bind-mounted read-only from the outer host's cache.
fixture_dir() {
        [ -f "$FIXTURE_OCI" ] && readlink -f "$FIXTURE_DIR"
}

# declare_sandbox NAME < TEXT: write /etc/sandy.d/NAME.sandbox and reload systemd.
declare_sandbox() {
        mkdir -p /etc/sandy.d
        cat >"/etc/sandy.d/$1.sandbox"
        systemctl daemon-reload
}

# image_rootfs NAME: where the image store keeps NAME's image, as sandyctl computes it.
image_rootfs() {
        sandyctl --json=short images | python3 -c '
import json, sys
print(next(i["rootfs"] for i in json.load(sys.stdin) if sys.argv[1] in i["sandboxes"]))' "$1"
}

# seed_image NAME: build NAME's image for real with sandy-helper's EnsureImage (bus-activated), as root; it
# returns once the image is in the store, or fails with the helper's reason. Two cases cannot be built
# here and get the fixture tree copied to the image's content address instead: debootstrap: sources (the
# test host has no Debian mirror) and declarations outside the helper's search path (SANDY_SEARCH_PATH set;
# the helper only reads the system's declarations).
seed_image() {
        local name=$1 rootfs fixture
        if [ -z "${SANDY_SEARCH_PATH:-}" ] && ! sandyctl cat "$name" 2>/dev/null | grep -q '^From=debootstrap:'; then
                busctl --system --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager \
                        EnsureImage s "$name" >/dev/null
                return
        fi
        fixture=$(fixture_dir) || return 1
        rootfs=$(image_rootfs "$name") || return 1
        [ -d "$rootfs" ] && return 0
        mkdir -p "$(dirname "$rootfs")"
        cp -a --reflink=auto "$fixture/rootfs" "$rootfs.tmp" && mv "$rootfs.tmp" "$rootfs"
}

remove_sandbox() {
        systemctl stop "sandy@$1.service" >/dev/null 2>&1 || true
        rm -rf "/etc/sandy.d/$1.sandbox" "/etc/sandy.d/$1.sandbox.d"
        systemctl daemon-reload
}

# ---- issue 12: hostile image builds (53-build-hostile.sh, 54-build-cancel.sh)
PROBE_PORT=8712
HOST_PROBE=/src/tests/e2e/build-probe/probe.sh

# build_hostile_image OUT FORMAT: the fixture plus one layer: a probing /usr/sbin/useradd, the probe as
# /usr/local/sbin/sandy-probe, and a local apt repository (file:/srv/probe-repo, the only source) with the
# package sandy-probe, whose postinst runs the probe (or $HOSTILE_POSTINST; with HOSTILE_KEEP_USERADD set
# the image keeps its own useradd). FORMAT: oci-archive, oci or docker-archive.
build_hostile_image() {
        local out=$1 fmt=$2 t deb
        t=$(mktemp -d /var/tmp/sandy-hostile.XXXXXX) || return 1
        mkdir -p "$t/layer/usr/local/sbin" "$t/layer/usr/sbin" "$t/layer/srv/probe-repo" "$t/layer/etc/apt" \
                "$t/deb/DEBIAN" "$t/deb/usr/share/doc/sandy-probe"
        install -m 755 "$HOST_PROBE" "$t/layer/usr/local/sbin/sandy-probe"
        if [ -z "${HOSTILE_KEEP_USERADD:-}" ]; then
                printf '#!/bin/sh\n/usr/local/sbin/sandy-probe useradd\nexit 0\n' >"$t/layer/usr/sbin/useradd"
                chmod 755 "$t/layer/usr/sbin/useradd"
        fi
        printf 'Package: sandy-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: sandy tests <t@example.invalid>\nDescription: probe\n' \
                >"$t/deb/DEBIAN/control"
        printf '#!/bin/sh\n%s\nexit 0\n' "${HOSTILE_POSTINST:-/usr/local/sbin/sandy-probe postinst}" >"$t/deb/DEBIAN/postinst"
        chmod 755 "$t/deb/DEBIAN/postinst"
        echo probe >"$t/deb/usr/share/doc/sandy-probe/README"
        deb=$t/layer/srv/probe-repo/sandy-probe_1.0_all.deb
        dpkg-deb --root-owner-group -Zgzip --build "$t/deb" "$deb" >/dev/null || return 1
        {
                dpkg-deb -f "$deb"
                echo "Filename: ./sandy-probe_1.0_all.deb"
                echo "Size: $(stat -c %s "$deb")"
                echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
                echo
        } >"$t/layer/srv/probe-repo/Packages"
        echo "deb [trusted=yes] file:/srv/probe-repo ./" >"$t/layer/etc/apt/sources.list"
        python3 /src/tests/testhost/oci-add-layer.py "$FIXTURE_OCI" "$t/layer" "$out" "$fmt"
        local rc=$?
        rm -rf "$t"
        return $rc
}

# An HTTP listener on every address of the test host (127.0.0.1 and 192.0.2.2 among them).
probe_listener_start() {
        mkdir -p /var/tmp/sandy-probe-www && echo listener >/var/tmp/sandy-probe-www/index.html
        python3 -m http.server "$PROBE_PORT" --bind 0.0.0.0 --directory /var/tmp/sandy-probe-www >/dev/null 2>&1 &
        echo $! >/var/tmp/sandy-probe-www.pid
        wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$PROBE_PORT/"
}
probe_listener_stop() {
        [ -s /var/tmp/sandy-probe-www.pid ] && kill "$(cat /var/tmp/sandy-probe-www.pid)" 2>/dev/null
        rm -rf /var/tmp/sandy-probe-www /var/tmp/sandy-probe-www.pid
}

# probe_confined DIR: the probe's record in DIR shows a program with no privilege and no way out: a user
# namespace that is not the test host's, mapped to host IDs other than 0, another network namespace,
# core_pattern not writable, no_new_privs, a seccomp filter, and none of the test host's listener, the
# test host itself, LAN, CGNAT or metadata reached.
probe_confined() {
        local d=$1 hostns hostnet
        hostns=$(readlink /proc/self/ns/user)
        hostnet=$(readlink /proc/self/ns/net)
        [ -s "$d/done" ] || { echo "the probe did not run ($d)"; return 1; }
        [ "$(cat "$d/userns")" != "$hostns" ] || { echo "in the test host's user namespace"; return 1; }
        read -r inside outside _ <"$d/uid_map"
        [ "$inside" = 0 ] && [ "$outside" != 0 ] || { echo "uid_map: $(cat "$d/uid_map")"; return 1; }
        echo "uid in the initial namespace: $((outside + $(cat "$d/uid")))"
        [ "$(cat "$d/netns")" != "$hostnet" ] || { echo "in the test host's network namespace"; return 1; }
        grep -qx no "$d/core_pattern" || { echo "core_pattern is writable"; return 1; }
        grep -qx 1 "$d/nnp" || { echo "no no_new_privs"; return 1; }
        grep -qx 2 "$d/seccomp" || { echo "no seccomp filter"; return 1; }
        if grep -v '^203\.0\.113\.10:' "$d/reach" | grep -q ' yes$'; then
                echo "reached: $(grep ' yes$' "$d/reach" | tr '\n' ' ')"
                return 1
        fi
}

# probe_unconfined DIR: the positive control: the same probe, run by the test host's root with a /proc
# of its own, sees the host's namespaces, a writable core_pattern and reaches the listener and the LAN.
probe_unconfined() {
        local d=$1
        [ "$(cat "$d/userns")" = "$(readlink /proc/self/ns/user)" ] && grep -qx yes "$d/core_pattern" &&
                grep -qx "127.0.0.1:$PROBE_PORT yes" "$d/reach" && grep -qx "192.168.77.1:80 yes" "$d/reach"
}

# unpack_watch OUT: record (to OUT) every process of sandy-helper's binary, other than the service's main
# process, that has no child and whose root is not the test host's: the OCI unpacker's extraction child
# (and any other confined run of the helper's own code). The confinement's "(sandy-init)", which sets up
# a run's mounts as root and runs nothing of the image, is left out. Runs until killed.
unpack_watch() {
        exec python3 /src/tests/e2e/build-probe/unpack-watch.py "$1"
}

# probe_unpacker_confined OUT: what unpack_watch saw: at least one such process, and every one of them
# with a host UID other than 0, in its own user and network namespaces, no_new_privs and seccomp.
probe_unpacker_confined() {
        [ -s "$1" ] || { echo "no unpacker process was seen"; return 1; }
        cat "$1"
        python3 - "$1" "$(readlink /proc/self/ns/user)" "$(readlink /proc/self/ns/net)" <<'PY'
import sys
bad = []
for line in open(sys.argv[1]):
    p = dict(kv.split("=", 1) for kv in line.split())
    if p["uid"] == "0": bad.append("uid 0")
    if p["userns"] == sys.argv[2]: bad.append("host user namespace")
    if p["netns"] == sys.argv[3]: bad.append("host network namespace")
    if p["nnp"] != "1": bad.append("no no_new_privs")
    if p["seccomp"] != "2": bad.append("no seccomp")
    if p["ifaces"] not in ("lo", ""): bad.append("interfaces " + p["ifaces"])
sys.exit("unconfined: " + ", ".join(sorted(set(bad))) if bad else 0)
PY
}
