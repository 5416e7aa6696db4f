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
