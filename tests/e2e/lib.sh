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

# ---- issue 14: egress through host firewall reloads (tests/e2e/55-59)
# in_sandbox NAME 'SHELL CODE': run inside the sandbox, through its own systemd (so its own resolv.conf).
in_sandbox() { machinectl --quiet shell "$1" /bin/bash -c "$2" 2>&1 | tr -d '\r'; }
# sb_reaches NAME HOST PORT [ADDR]: curl from inside NAME to HOST:PORT got the canary of ADDR (default HOST),
# and the canary logged the connection.
sb_reaches() {
        local n=$1 h=$2 p=$3 a=${4:-$2} m out
        m=$(canary_mark)
        out=$(in_sandbox "$n" "curl -s -m 3 $(canary_url "$h" "$p"); echo rc=\$?")
        echo "$out"
        echo "$out" | grep -q "^canary $a " && [ "$(canary_hits_since "$m" "$a" "$p")" -ge 1 ]
}
# sb_blocked NAME ADDR PORT: no answer, and the canary saw nothing.
sb_blocked() {
        local n=$1 a=$2 p=$3 m out
        m=$(canary_mark)
        out=$(in_sandbox "$n" "curl -s -m 3 $(canary_url "$a" "$p"); echo rc=\$?")
        echo "$out"
        ! echo "$out" | grep -q "^canary " && [ "$(canary_hits_since "$m" "$a" "$p")" = 0 ]
}
# host_reaches ADDR PORT: the control: the test host itself reaches the canary.
host_reaches() {
        local m
        m=$(canary_mark)
        curl -s -m 3 "$(canary_url "$1" "$2")" | grep -q "^canary $1 " && [ "$(canary_hits_since "$m" "$1" "$2")" -ge 1 ]
}
# sb_host_blocked NAME URL / host_serves URL: a service of the test host itself, from a sandbox and from the host.
sb_host_blocked() { ! in_sandbox "$1" "curl -s -m 3 $2" | grep -q 'Directory listing'; }
host_serves() { curl -s -m 3 "$1" | grep -q 'Directory listing'; }
# table_back_within MS: poll until the host's table inet sandy exists; fail after MS milliseconds. Prints the
# time it took.
table_back_within() {
        local start=$(date +%s%N) now
        while :; do
                now=$(date +%s%N)
                if nft list chain inet sandy egress >/dev/null 2>&1; then
                        echo "back after $(((now - start) / 1000000)) ms"
                        return 0
                fi
                [ $(((now - start) / 1000000)) -lt "$1" ] || { echo "not back after $1 ms"; return 1; }
                sleep 0.02
        done
}
# sb_addr4 NAME: the sandbox's IPv4 address; sb_gw4 NAME: the host side of its link.
sb_addr4() { nsenter --net=/run/sandy/netns/"$1" ip -4 -o addr show dev sandy0 | awk '{print $4}' | cut -d/ -f1; }
sb_gw4() { nsenter --net=/run/sandy/netns/"$1" ip -4 route show default | cut -d' ' -f3; }
export -f in_sandbox sb_reaches sb_blocked host_reaches sb_host_blocked host_serves table_back_within sb_addr4 sb_gw4
