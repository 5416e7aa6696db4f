# SPDX-License-Identifier: LGPL-2.1-or-later
# TAP helpers for e2e tests. They run inside the booted test host, as root, with a real systemd.
set -uo pipefail

_n=0
_failed=0

# check DESCRIPTION COMMAND...: one TAP line; the command's output is shown only on failure.
check() {
        local desc=$1 out
        shift
        _n=$((_n + 1))
        if out=$("$@" 2>&1); then
                echo "ok $_n - $desc"
        else
                echo "not ok $_n - $desc"
                printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
                _failed=$((_failed + 1))
        fi
}

# check_fails DESCRIPTION COMMAND...: passes when the command fails.
check_fails() {
        local desc=$1
        shift
        check "$desc" _not "$@"
}
_not() { ! "$@"; }

skip_test() {
        _n=$((_n + 1))
        echo "ok $_n # SKIP $*"
}

finish() {
        echo "1..$_n"
        [ "$_failed" = 0 ]
}

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
        local d
        for d in /var/cache/sandy-tests/fixture-*/; do
                [ -f "$d/fixture.oci.tar" ] && { echo "${d%/}"; return 0; }
        done
        return 1
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

# Until sandy-helper builds images, put the fixture where the image store expects the sandbox's image.
# The rootfs path comes from sandyctl, so the test follows the real content address.
seed_image() {
        local name=$1 rootfs fixture
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
