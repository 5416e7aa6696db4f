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

# ---- issue 15: who may use which sandbox ------------------------------------------------------------------

# refused CMD...: CMD fails, and because authorization was denied (not for some other reason).
refused() {
        local out rc
        out=$("$@" 2>&1)
        rc=$?
        echo "$out"
        [ "$rc" != 0 ] &&
                grep -qiE "interactive authentication required|access denied|not authorized|authentication is required|may not use" <<<"$out"
}

# matches REGEX TEXT: some line of TEXT matches.
matches() { grep -qE -- "$1" <<<"$2" || { echo "no line matches /$1/ in:"; echo "$2"; false; }; }

# ensure_members USER...: group sandy exists and has these users; ensure_user USER: a plain user exists.
ensure_members() {
        getent group sandy >/dev/null || groupadd --system sandy
        local u
        for u in "$@"; do usermod -aG sandy "$u"; done
}
ensure_user() {
        id "$1" >/dev/null 2>&1 || useradd -m -s /bin/bash "$1"
}

# helper_call USER METHOD SIGNATURE ARGS...: a method of org.sandy.Helper1 as USER (root: as root), never
# interactive. The interface is found from the method name.
helper_call() {
        local user=$1 method=$2 iface
        shift 2
        case $method in
        SetupNetwork | TeardownNetwork | DescribeEgress) iface=org.sandy.Helper1.Network ;;
        CheckAccess) iface=org.sandy.Helper1.Access ;;
        *) iface=org.sandy.Helper1.Manager ;;
        esac
        if [ "$user" = root ]; then
                busctl --timeout=120 call org.sandy.Helper1 /org/sandy/Helper1 "$iface" "$method" "$@"
        else
                as_user "$user" busctl --timeout=120 call org.sandy.Helper1 /org/sandy/Helper1 "$iface" "$method" "$@"
        fi
}

# machined_login USER MACHINE: what "machinectl login" asks machined for (OpenMachineLogin), without a tty.
machined_login() {
        local user=$1
        shift
        as_user "$user" busctl --timeout=60 call org.freedesktop.machine1 /org/freedesktop/machine1 \
                org.freedesktop.machine1.Manager OpenMachineLogin s "$1"
}

# unit_active NAME / unit_inactive NAME: for wait_for.
unit_active() { systemctl is-active -q "sandy@$1.service"; }
unit_inactive() { ! systemctl is-active -q "sandy@$1.service"; }

# journal_since CURSOR: messages logged after the cursor (journal_cursor gives one).
journal_cursor() { journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; }
journal_since() { journalctl --after-cursor="$1" --no-pager -o cat; }
journal_has() { journal_since "$1" | grep -qF -- "$2"; }

# kill_tree PID: PID and everything it started, by process ID.
kill_tree() {
        local c
        for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
        kill "$1" 2>/dev/null
}
