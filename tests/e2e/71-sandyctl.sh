#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandyctl's verbs against the real systemd, machined and sandy-helper: build (a real job), status and
# list with --json, logs, exit statuses, doctor (and that it fails when a needed tool is missing),
# no colour when not on a terminal, and the bash completion.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
matches() { grep -qE -- "$1" <<<"$2" || { echo "no line matches /$1/ in:"; echo "$2"; false; }; }

declare_sandbox ctl <<EOF2
[Sandbox]
Description=sandyctl e2e
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_image ctl

# --- start/status/list/logs
tap_check "sandyctl start ctl" timeout 120 sandyctl start ctl
out=$(sandyctl --json=short status ctl); rc=$?
tap_check "status exits 0 for a running sandbox" test "$rc" = 0
tap_check "status --json: active, with the machine's leader" python3 -c '
import json, sys
s = json.loads(sys.argv[1])[0]
assert s["name"] == "ctl" and s["unit"] == "sandy@ctl.service", s
assert s["state"] == "active" and s["leader"] > 0, s
assert s["mode"] == "none" and s["built"] is True, s' "$out"
out=$(sandyctl list)
tap_check "list is plain text when stdout is not a terminal" bash -c '! grep -q $'"'"'\e'"'"' <<<"$1"' _ "$out"
tap_check "list shows ctl active" matches "^ctl +active " "$out"
out=$(sandyctl logs --no-pager -n all ctl 2>&1)
tap_check "logs shows the unit's start" matches "Start(ed|ing) sandy@ctl.service" "$out"
tap_check "sandyctl restart ctl" timeout 120 sandyctl restart ctl
tap_check "sandyctl stop ctl" timeout 120 sandyctl stop ctl
sandyctl status ctl >/dev/null; rc=$?
tap_check "status exits 3 for a stopped sandbox" test "$rc" = 3
sandyctl start nosuch 2>/dev/null; rc=$?
tap_check "start of an undeclared name exits 4" test "$rc" = 4
sandyctl shell nosuch 2>/dev/null; rc=$?
tap_check "shell of an undeclared name exits 4" test "$rc" = 4
out=$(sandyctl start ctl nosuch 2>&1); rc=$?
tap_check "a list with an undeclared name starts nothing" \
        bash -c '[ "$1" = 4 ] && ! systemctl is-active -q sandy@ctl.service' _ "$rc"

# --- -H: D-Bus over "ssh" to systemd-stdio-bridge. No sshd here: a stand-in ssh first in PATH drops its
# options and the host name and runs the command locally, so the real remote-bus code path is taken.
fake=$(mktemp -d /tmp/e2e-fake-ssh.XXXXXX)
cat >"$fake/ssh" <<'EOF2'
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
EOF2
chmod +x "$fake/ssh"
tap_check "-H: start ctl through the remote bus" env PATH="$fake:$PATH" timeout 120 sandyctl -H root@remote.test start ctl
tap_check "ssh was asked for root@remote.test and systemd-stdio-bridge" \
        bash -c 'grep -q "root@remote.test.*systemd-stdio-bridge" "$1/calls"' _ "$fake"
tap_check "ctl is running" systemctl is-active sandy@ctl.service
out=$(env PATH="$fake:$PATH" sandyctl -H root@remote.test logs --no-pager -n 5 ctl 2>&1)
tap_check "-H: logs runs journalctl through ssh" bash -c 'grep -q "ssh root@remote.test -- journalctl -u sandy@ctl.service" "$1/calls"' _ "$fake"
tap_check "-H: stop ctl through the remote bus" env PATH="$fake:$PATH" timeout 120 sandyctl -H root@remote.test stop ctl
tap_check "ctl is stopped" bash -c '! systemctl is-active -q sandy@ctl.service'
tap_check_fails "-H: list refuses (it reads local files)" env PATH="$fake:$PATH" sandyctl -H root@remote.test list
rm -rf "$fake"

# --- build: a real job of sandy-helper (a recipe of its own, so it is not built yet)
if busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 '; then
        declare_sandbox bld <<EOF2
[Sandbox]
User=bld
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
        out=$(timeout 600 sandyctl --no-progress build bld 2>&1); rc=$?
        tap_check "sandyctl build bld succeeds" test "$rc" = 0
        tap_check "and says the image is ready" matches "Image of bld is ready" "$out"
        tap_check "the image is built now" bash -c 'sandyctl --json=short images | python3 -c "
import json, sys
assert any(i[\"built\"] and \"bld\" in i[\"sandboxes\"] for i in json.load(sys.stdin))"'
        out=$(timeout 60 sandyctl --no-progress build bld 2>&1); rc=$?
        tap_check "building it again is a no-op" bash -c '[ "$1" = 0 ] && grep -q "already built" <<<"$2"' _ "$rc" "$out"
        # The bar itself, on a terminal (script gives one): a rebuild, so there is a job to follow.
        out=$(timeout 600 script -qec "sandyctl build --force bld" /dev/null </dev/null 2>&1 | tr '\r' '\n'); rc=$?
        tap_check "build --force on a terminal draws a progress bar and ends at 100%" \
                bash -c '[ "$1" = 0 ] && grep -qE "^bld \[#+\] 100%" <<<"$2"' _ "$rc" "$out"
        declare_sandbox broken <<EOF2
[Image]
From=oci-archive:/nonexistent/image.tar
[Network]
Mode=none
EOF2
        out=$(timeout 120 sandyctl --no-progress build broken 2>&1); rc=$?
        tap_check "a failing build exits 1" test "$rc" = 1
        tap_check "with the helper's message" matches "(Building the image of broken failed|Failed to build the image of broken): .+" "$out"
        remove_sandbox broken
        remove_sandbox bld
else
        tap_skip "sandy-helper is not installed: build not tested"
fi

# --- doctor
out=$(sandyctl --json=short doctor); rc=$?
tap_check "doctor --json: exit status 1 exactly when a required check is missing" python3 -c '
import json, sys
checks = json.loads(sys.argv[1])
names = {c["check"] for c in checks}
for n in ("systemd-nspawn", "user namespaces", "overlayfs", "cgroup v2", "nftables", "skopeo", "debootstrap", "dnsmasq"):
    assert n in names, n
bad = [c for c in checks if c["required"] and c["status"] == "missing"]
assert (int(sys.argv[2]) == 1) == bool(bad), (sys.argv[2], bad)
assert all("fix" in c for c in checks if c["status"] != "ok")' "$out" "$rc"
tap_diag "doctor: exit $rc"
declare_sandbox dock <<EOF2
[Image]
From=docker://docker.io/library/debian:bookworm
EOF2
if [ -x /usr/bin/skopeo ] && mount --bind /dev/null /usr/bin/skopeo; then
        out=$(sandyctl --no-pager doctor 2>&1); rc=$?
        umount /usr/bin/skopeo
        tap_check "doctor fails when skopeo is missing and a docker:// sandbox needs it" test "$rc" = 1
        tap_check "and says what to install, and for whom" \
                bash -c 'grep -qE "^skopeo +missing +yes +.*needed by dock" <<<"$1" && grep -q "apt install skopeo" <<<"$1"' _ "$out"
else
        tap_skip "cannot hide skopeo"
fi
remove_sandbox dock

# --- bash completion
comp() { # comp WORDS...: what _sandyctl completes for the last word
        bash -c '. /usr/share/bash-completion/completions/sandyctl; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                 _sandyctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
tap_check "completion: verbs" bash -c '[ "$(printf "%s\n" $1 | sort | tr "\n" " ")" = "start status stop " ]' _ "$(comp sandyctl st)"
tap_check "completion: declared names" matches "^ctl$" "$(comp sandyctl start c)"
tap_check "completion: --json= modes" matches "^pretty$" "$(comp sandyctl --json=p)"

remove_sandbox ctl
tap_done
