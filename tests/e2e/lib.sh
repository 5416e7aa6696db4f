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

# ---- issue 11: checks shared by 10-lifecycle, 40-quickstart, 71-sandyctl and host-autostart. Each is a
# command for tap_check/wait_for and says on stdout why it failed.

# unit_property_is UNIT PROPERTY VALUE: systemctl show -P PROPERTY UNIT is exactly VALUE.
unit_property_is() {
        local v
        v=$(systemctl show -P "$2" "$1") || return 1
        [ "$v" = "$3" ] || { echo "$2=$v, not $3"; return 1; }
}
# unit_has_name UNIT NAME: NAME is one of the unit's names (an alias).
unit_has_name() {
        systemctl show -P Names "$1" | grep -qw -- "$2"
}
# unit_inactive UNIT: the unit has stopped: inactive or failed, not still deactivating (is-active is
# false while ExecStopPost= runs), so that what its stop removes is gone.
unit_inactive() {
        local s
        s=$(systemctl show -P ActiveState "$1")
        [ "$s" = inactive ] || [ "$s" = failed ] || { echo "ActiveState=$s"; return 1; }
}
# unit_show_lacks UNIT TEXT: TEXT is nowhere in systemctl show UNIT.
unit_show_lacks() {
        ! systemctl show "$1" | grep -qF -- "$2"
}
# journal_has UNIT TEXT: this boot's journal of UNIT has TEXT.
journal_has() {
        journalctl -b -u "$1" --no-pager | grep -qF -- "$2"
}
# machine_listed NAME: machinectl list shows the machine NAME.
machine_listed() {
        machinectl list --no-legend | grep -q "^$1 "
}
# machine_only_loopback NAME: the machine has no network link but lo.
machine_only_loopback() {
        local out
        out=$(machinectl shell "$1" /usr/sbin/ip -o link 2>&1)
        echo "$out"
        ! grep -v " lo:" <<<"$out" | grep -q "^[0-9]*:"
}
# machine_file_has NAME PATH TEXT: the file PATH inside the machine NAME holds TEXT.
machine_file_has() {
        machinectl shell "$1" /bin/cat "$2" | grep -qF -- "$3"
}
# absent PATH...: none of the paths exists (not even as a dangling symlink).
absent() {
        local p
        for p; do
                if [ -e "$p" ] || [ -L "$p" ]; then
                        echo "$p exists"
                        return 1
                fi
        done
}
# output_matches TEXT REGEX...: each extended REGEX matches a line of TEXT.
output_matches() {
        local text=$1 re
        shift
        for re; do
                grep -qE -- "$re" <<<"$text" || { echo "no line matches /$re/ in:"; echo "$text"; return 1; }
        done
}
# output_lacks TEXT REGEX: no line of TEXT matches REGEX.
output_lacks() {
        ! grep -qE -- "$2" <<<"$1" || { echo "a line matches /$2/ in:"; echo "$1"; return 1; }
}
# file_matches FILE REGEX: a line of FILE matches the extended REGEX.
file_matches() {
        grep -qE -- "$2" "$1" || { echo "no line matches /$2/ in $1:"; cat "$1"; return 1; }
}
# status_is STATUS WANT [COMMAND...]: an exit status taken earlier (out=$(...); rc=$?) is WANT, and then
# COMMAND succeeds. COMMAND also runs when the status is wrong, for what it says.
status_is() {
        local st=$1 want=$2
        shift 2
        if [ "$st" != "$want" ]; then
                echo "exit status $st, not $want"
                [ $# -eq 0 ] || "$@"
                return 1
        fi
        [ $# -eq 0 ] || "$@"
}
# words_are TEXT WORD...: the words of TEXT are exactly the WORDs, in any order.
words_are() {
        local got want
        # shellcheck disable=SC2086  # split into words on purpose
        got=$(printf '%s\n' $1 | sort | tr '\n' ' ')
        shift
        want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
        [ "$got" = "$want" ] || { echo "words: $got, not $want"; return 1; }
}
# image_built NAME: sandyctl images says that NAME's image is built.
image_built() {
        sandyctl --json=short images | python3 -c '
import json, sys
sys.exit(not any(i["built"] and sys.argv[1] in i["sandboxes"] for i in json.load(sys.stdin)))' "$1"
}
# sandyctl_completes WORD...: what the bash completion of sandyctl offers for the last WORD, one a line.
sandyctl_completes() (
        set +u # the completion is written for interactive shells
        . /usr/share/bash-completion/completions/sandyctl
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        _sandyctl
        printf '%s\n' "${COMPREPLY[@]}"
)
# fixture_declaration [SANDBOX-SETTING...]: the text of a sandbox of the fixture image, without network,
# with the given [Sandbox] settings (e.g. AutoStart=yes).
fixture_declaration() {
        local fixture
        fixture=$(fixture_dir) || { echo "no fixture image" >&2; return 1; }
        echo "[Sandbox]"
        printf '%s\n' "$@"
        printf '[Image]\nFrom=oci-archive:%s/fixture.oci.tar\n[Network]\nMode=none\n' "$fixture"
}
# declare_fixture_sandbox NAME [SANDBOX-SETTING...]: declare NAME so, and seed its image.
declare_fixture_sandbox() {
        local name=$1 text
        shift
        text=$(fixture_declaration "$@") || return 1
        declare_sandbox "$name" <<<"$text" && seed_image "$name"
}
# machines_target_wants NAME: machines.target wants sandy@NAME (AutoStart=yes).
machines_target_wants() {
        test -L "/run/systemd/generator/machines.target.wants/sandy@$1.service"
}
# stop_and_remove NAME...: stop each sandbox, wait until it is down, remove its declaration.
stop_and_remove() {
        local n
        for n; do
                machinectl stop "$n" >/dev/null 2>&1
                wait_for 30 unit_inactive "sandy@$n.service" || { echo "sandy@$n.service does not stop"; return 1; }
                remove_sandbox "$n"
        done
}

# ---- issue 15: who may use which sandbox ------------------------------------------------------------------

# member_exec_ready NAME USER: where systemd runs under a seccomp filter (this test host is a container), only a
# process outside it can keep the sandbox's filter for members' sandyctl exec (a real host's systemd has no
# filter, and sandy-prepare keeps it at start). A member's (USER's) exec before that must fail saying so; root's exec
# keeps it.
member_exec_ready() {
        local out
        if ! out=$(as_user "$2" sandyctl --no-ask-password exec "$1" -- true 2>&1) &&
                ! grep -q "seccomp filter" <<<"$out"; then
                echo "$2's exec failed without the reason: $out"
                return 1
        fi
        sandyctl exec "$1" -- true
}

# past_authorization CMD...: CMD (a SetupNetwork call for a Mode=none sandbox) was authorized and ran: the
# helper answered with the declaration's verdict ("no network namespace of sandy's"), not with a refusal.
past_authorization() {
        local out
        out=$("$@" 2>&1)
        echo "$out"
        grep -q "has no network namespace of sandy's" <<<"$out"
}

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
sandbox_inactive() { unit_inactive "sandy@$1.service"; }

# journal_since CURSOR: messages logged after the cursor (journal_cursor gives one).
journal_cursor() { journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; }
journal_since() { journalctl --after-cursor="$1" --no-pager -o cat; }
journal_since_has() { journal_since "$1" | grep -qF -- "$2"; }

# kill_tree PID: PID and everything it started, by process ID.
kill_tree() {
        local c
        for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
        kill "$1" 2>/dev/null
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

# ---- issue 18: the registry and mirrors of the upstream network (tests/testhost/upstream-registry.sh) ----

# registry_env: REGISTRY (HTTPS, login), REGISTRY_PLAIN (HTTP), REGISTRY_USER/PASSWORD, REGISTRY_STORAGE,
# REGISTRY_LOG_TLS/PLAIN, MIRROR_URL, AGENTS_CACHE of this test host; fails when it has no registry.
registry_env() {
        [ -r /etc/testhost/registry.env ] || return 1
        . /etc/testhost/registry.env
        [ -n "${REGISTRY:-}" ]
}
# registry_auth_json USER PASSWORD [DOMAIN]: a containers-auth.json(5) with one login.
registry_auth_json() {
        printf '{"auths": {"%s": {"auth": "%s"}}}\n' "${3:-$REGISTRY}" "$(printf '%s:%s' "$1" "$2" | base64 -w0)"
}
# registry_push SOURCE NAME:TAG [SKOPEO-OPTION...]: skopeo copy SOURCE (oci-archive:FILE, oci:DIR:REF) into the
# HTTPS registry, logged in (both ports serve the same storage).
registry_push() {
        local src=$1 dst=$2
        shift 2
        skopeo copy -q --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "$@" "$src" "docker://$REGISTRY/$dst"
}
# registry_digest NAME:TAG: the digest of the manifest the registry has for it.
registry_digest() {
        echo "sha256:$(skopeo inspect --raw --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/$1" |
                sha256sum | cut -d' ' -f1)"
}
# blob_gets LOG REPO DIGEST: the successful GETs of a blob in a registry's access log.
blob_gets() {
        grep -cE "\"GET /v2/$2/blobs/$3 HTTP/[0-9.]+\" 200 " "$1"
}
# sandbox_image_id NAME: the content address of NAME's image.
sandbox_image_id() {
        basename "$(dirname "$(image_rootfs "$1")")"
}
# image_gone ID: the store has neither the image nor a temporary tree of it.
image_gone() {
        local s=/var/lib/sandy/images
        if [ -e "$s/$1" ] || compgen -G "$s/.tmp-$1-*" >/dev/null; then
                echo "left in the store: $(ls -d "$s/$1" "$s/.tmp-$1-"* 2>/dev/null)"
                return 1
        fi
}
# build_error NAME: sandyctl build NAME fails; prints the lines of its reason (one, if all is well).
build_error() {
        local out
        if out=$(sandyctl --no-pager build "$1" 2>&1); then
                echo "the build of $1 succeeded: $out"
                return 1
        fi
        grep -v "^Building the image of $1 (job" <<<"$out"
}
# one_line_matches TEXT REGEX: TEXT is one line, and it matches.
one_line_matches() {
        [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] || { echo "more than one line:"; echo "$1"; return 1; }
        grep -qE -- "$2" <<<"$1" || { echo "does not match /$2/: $1"; return 1; }
}
# cached_blob DIGEST: the blob cache of docker:// pulls has it.
cached_blob() {
        test -f "/var/lib/sandy/blobs/sha256/${1#sha256:}"
}
# pull_sandbox NAME FROM [LINE...]: a sandbox of the image FROM that runs nothing and has no network; the
# LINEs go into [Sandbox].
pull_sandbox() {
        local name=$1 from=$2
        shift 2
        printf '[Sandbox]\nBoot=no\nCommand=/bin/true\nOwner=alice\n%s\n[Image]\nFrom=%s\n[Network]\nMode=none\n' \
                "$(printf '%s\n' "$@")" "$from" | declare_sandbox "$name"
}
# job_progress_watch OUT: record the Progress and Status changes of sandy-helper's build jobs (busctl
# monitor) into OUT until killed.
job_progress_watch() {
        exec busctl --system monitor --json=short \
                --match "type='signal',sender='org.sandy.Helper1',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
                >"$1" 2>/dev/null
}
# job_progress_seen OUT REGEX: the watch saw Status values matching REGEX with a Progress strictly
# between 0 and 1, and more than one distinct Progress value while they were reported.
job_progress_seen() {
        python3 - "$1" "$2" <<'PY'
import json, re, sys
seen = []
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    data = m.get("payload", {}).get("data", [])
    if len(data) < 2:
        continue
    props = data[1]
    p = props.get("Progress", {}).get("data")
    s = props.get("Status", {}).get("data")
    if p is not None and s is not None and re.search(sys.argv[2], s):
        seen.append((p, s))
inside = [p for p, _ in seen if 0 < p < 1]
print(seen[:3], "...", seen[-3:], len(seen))
sys.exit(0 if len(set(inside)) > 1 else 1)
PY
}
# agent_base_push: the agents' base image (Debian 13 with Node.js and npm, from build-agent-cache.sh) with
# the upstream mirrors configured as a company's would be, pushed as agent-base:trixie (once per test host):
# apt sources and npm's registry (/etc/npmrc) name the mirror by address, since the build network's
# resolver drops answers in TEST-NET ranges.
agent_base_push() {
        local t r=0
        [ -n "${MIRROR_URL:-}" ] && [ -f "${AGENTS_CACHE:-}/base.oci.tar" ] || { echo "no agent cache"; return 1; }
        skopeo inspect --raw --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/agent-base:trixie" \
                >/dev/null 2>&1 && return 0
        t=$(mktemp -d /var/tmp/sandy-agent-base.XXXXXX) || return 1
        mkdir -p "$t/layer/etc/apt"
        echo "deb [trusted=yes] $MIRROR_URL/debian trixie main" >"$t/layer/etc/apt/sources.list"
        echo "registry=$MIRROR_URL/npm/" >"$t/layer/etc/npmrc"
        python3 /src/tests/testhost/oci-add-layer.py "$AGENTS_CACHE/base.oci.tar" "$t/layer" "$t/image.tar" oci-archive &&
                registry_push "oci-archive:$t/image.tar" agent-base:trixie || r=1
        rm -rf "$t"
        return $r
}
# mirror_gets REGEX [MARK]: the mirror's GETs (after line MARK of its log) whose path matches REGEX.
mirror_gets() {
        tail -n +"$((${2:-0} + 1))" "$MIRROR_LOG" | awk '$3 == "GET" {print $4, $5}' | grep -cE -- "$1"
}

# ---- issue 18b: docker:// with skopeo (90-registry.sh) ----

# registry_push_fixtures WORK: the fixture as fixture:1, WORK/plus.tar as plus:1, WORK/bad.tar as damaged:1 and
# the index WORK/multi as multi:1 (all its platforms).
registry_push_fixtures() {
        registry_push "oci-archive:$FIXTURE_OCI" fixture:1 && registry_push "oci-archive:$1/plus.tar" plus:1 &&
                registry_push "oci-archive:$1/bad.tar" damaged:1 && registry_push "oci:$1/multi:multi" multi:1 --all
}
# registry_blob_damaged DIGEST: the registry's storage holds content for DIGEST that does not hash to it.
registry_blob_damaged() {
        local f=$REGISTRY_STORAGE/docker/registry/v2/blobs/sha256/${1:7:2}/${1#sha256:}/data
        [ -f "$f" ] && [ "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" != "$1" ]
}
# rootfs_is_fixture ROOTFS: the fixture's Debian 12 with the sandbox user.
rootfs_is_fixture() {
        grep -q VERSION_CODENAME=bookworm "$1/etc/os-release" && grep -q '^agent:' "$1/etc/passwd"
}
# pull_left_nothing ID: no temporary tree in the store, no pull directory left in the image.
pull_left_nothing() {
        ! compgen -G '/var/lib/sandy/images/.tmp-*' >/dev/null && ! test -e "/var/lib/sandy/images/$1/pull"
}
# job_status_seen OUT REGEX: the watch of job_progress_watch saw a Status matching REGEX with a Progress
# strictly between 0 and 1.
job_status_seen() {
        python3 - "$1" "$2" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    try:
        data = json.loads(line).get("payload", {}).get("data", [])
    except ValueError:
        continue
    if len(data) < 2:
        continue
    p = data[1].get("Progress", {}).get("data")
    s = data[1].get("Status", {}).get("data")
    if p is not None and s is not None and 0 < p < 1 and re.search(sys.argv[2], s):
        print(p, s)
        sys.exit(0)
sys.exit(1)
PY
}
# index_entry_digest LAYOUT ARCH: the digest of the linux/ARCH image of the index the layout's one entry is.
index_entry_digest() {
        python3 - "$1" "$2" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda dg: json.load(open(d + "/blobs/sha256/" + dg.split(":")[1]))
index = blob(json.load(open(d + "/index.json"))["manifests"][0]["digest"])
print(next(m["digest"] for m in index["manifests"] if m.get("platform", {}).get("architecture") == sys.argv[2]))
PY
}
# helper_journal_has TEXT: sandy-helper's journal has a line containing TEXT.
helper_journal_has() {
        journalctl -u sandy-helper --no-pager -o cat | grep -qF -- "$1"
}
# sandbox_journal_has NAME TEXT: the journal has a line containing TEXT with SANDBOX=NAME.
sandbox_journal_has() {
        journalctl SANDBOX="$1" --no-pager -o cat | grep -qF -- "$2"
}
# rootfs_is_host_platform ROOTFS: the image of the two-platform index for this machine, not the foreign one.
rootfs_is_host_platform() {
        test -f "$1/etc/debian_version" && ! test -e "$1/foreign-arch"
}
# registry_got_since LOG MARK REPO DIGEST: the registry served the blob after line MARK of its access log.
registry_got_since() {
        tail -n +"$(($2 + 1))" "$1" | grep -qE "GET /v2/$3/blobs/$4 "
}
# image_pruned OUT ID: Prune's reply OUT names ID, and the store no longer has it.
image_pruned() {
        grep -q "$2" <<<"$1" && ! test -e "/var/lib/sandy/images/$2"
}
# blob_cache_empty: the blob cache of docker:// pulls holds nothing.
blob_cache_empty() {
        [ -z "$(ls -A /var/lib/sandy/blobs/sha256)" ]
}
# plant_foreign_logins USER PASSWORD: the login in every place skopeo, podman or docker would look for one of
# root (the helper's HOME and runtime directory) and of alice (who starts builds); none of them is sandy's.
plant_foreign_logins() {
        local f
        for f in /root/.docker/config.json /root/.config/containers/auth.json /run/containers/0/auth.json \
                /home/alice/.config/containers/auth.json /run/user/1001/containers/auth.json \
                /home/alice/.docker/config.json; do
                # alice's runtime directory only when logind made one (never made here)
                [[ $f != /run/user/1001/* || -d /run/user/1001 ]] || continue
                mkdir -p "$(dirname "$f")"
                (umask 077 && registry_auth_json "$1" "$2" >"$f")
        done
        chown -R alice: /home/alice/.config /home/alice/.docker
        [ -d /run/user/1001 ] && chown -R alice: /run/user/1001/containers
        return 0
}
remove_foreign_logins() {
        rm -rf /root/.docker /root/.config/containers /run/containers/0/auth.json /home/alice/.config/containers \
                /run/user/1001/containers /home/alice/.docker
}
