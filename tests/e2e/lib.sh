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

# ---- issue 16: verify, images, status and start as a member; shared by 20, 76 and 77.

# journal_since_lacks CURSOR TEXT: nothing logged after CURSOR contains TEXT.
journal_since_lacks() {
        local out
        out=$(journalctl --after-cursor="$1" --no-pager -o cat | grep -F -- "$2") || return 0
        echo "logged: $out"
        return 1
}
# (journal_cursor and journal_since_has: issue 15's, above.)
# both_inactive UNIT...: none of the units is active or on its way (for wait_for after a stop or failure).
both_inactive() {
        local u s
        for u; do
                s=$(systemctl show -P ActiveState "$u")
                case $s in inactive | failed) ;; *) echo "$u is $s"; return 1 ;; esac
        done
}
# image_not_built NAME: sandyctl images says that NAME's image is not built (and knows it).
image_not_built() {
        sandyctl --json=short images | python3 -c '
import json, sys
sys.exit(not any(i["built"] is False and sys.argv[1] in i["sandboxes"] for i in json.load(sys.stdin)))' "$1"
}
# fake_ssh DIR: an "ssh" in DIR that logs its arguments to DIR/calls and runs the remote command here
# (no sshd in the test host), so -H takes its real code path.
fake_ssh() {
        cat >"$1/ssh" <<'EOS'
#!/bin/sh
echo "ssh $*" >>"${0%/*}/calls"
while [ $# -gt 0 ]; do
        case $1 in
        --) shift; break ;;
        -[eolpiFJ]) shift 2 ;;
        -*) shift ;;
        *) break ;;
        esac
done
shift # the host
[ "${1:-}" = -- ] && shift
exec "$@"
EOS
        chmod +x "$1/ssh"
}
# json_check JSON PYTHON: PYTHON's assertions hold for j, the parsed JSON (says what when they do not).
json_check() {
        python3 -c '
import json, sys
j = json.loads(sys.argv[1])
exec(sys.argv[2])' "$1" "$2"
}
