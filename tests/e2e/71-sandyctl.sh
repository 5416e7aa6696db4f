#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandyctl's verbs against the real systemd, machined and sandy-helper: build (a real job), status and
# list with --json, logs, exit statuses, doctor (and that it fails when a needed tool is missing),
# no colour when not on a terminal, and the bash completion.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_fixture_sandbox ctl "Description=sandyctl e2e"

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
tap_check "list is plain text when stdout is not a terminal" output_lacks "$out" $'\e'
tap_check "list shows ctl active" output_matches "$out" "^ctl +active "
out=$(sandyctl logs --no-pager -n all ctl 2>&1)
tap_check "logs shows the unit's start" output_matches "$out" "Start(ed|ing) sandy@ctl.service"
tap_check "sandyctl restart ctl" timeout 120 sandyctl restart ctl
tap_check "sandyctl stop ctl" timeout 120 sandyctl stop ctl
sandyctl status ctl >/dev/null; rc=$?
tap_check "status exits 3 for a stopped sandbox" test "$rc" = 3
sandyctl start nosuch 2>/dev/null; rc=$?
tap_check "start of an undeclared name exits 4" test "$rc" = 4
sandyctl shell nosuch 2>/dev/null; rc=$?
tap_check "shell of an undeclared name exits 4" test "$rc" = 4
out=$(sandyctl start ctl nosuch 2>&1); rc=$?
tap_check "a list with an undeclared name starts nothing" status_is "$rc" 4 unit_inactive sandy@ctl.service

# --- -H: D-Bus over "ssh" to systemd-stdio-bridge. No sshd here: a stand-in ssh first in PATH drops its
# options and the host name and runs the command locally, so the real remote-bus code path is taken.
fake=$(mktemp -d /tmp/e2e-fake-ssh.XXXXXX)
fake_ssh "$fake"
tap_check "-H: start ctl through the remote bus" env PATH="$fake:$PATH" timeout 120 sandyctl -H root@remote.test start ctl
tap_check "ssh was asked for root@remote.test and systemd-stdio-bridge" \
        file_matches "$fake/calls" "root@remote.test.*systemd-stdio-bridge"
tap_check "ctl is running" systemctl is-active sandy@ctl.service
out=$(env PATH="$fake:$PATH" sandyctl -H root@remote.test logs --no-pager -n 5 ctl 2>&1)
tap_check "-H: logs runs sandyctl logs on the host through ssh (it asks sandy-helper there for a member)" \
        file_matches "$fake/calls" "^ssh -xT -- root@remote.test sandyctl logs --no-pager -n 5 ctl$"
tap_check "-H: stop ctl through the remote bus" env PATH="$fake:$PATH" timeout 120 sandyctl -H root@remote.test stop ctl
tap_check "ctl is stopped" unit_inactive sandy@ctl.service
tap_check "-H: list runs sandyctl list on the host through ssh" env PATH="$fake:$PATH" sandyctl -H root@remote.test list
tap_check "  as \"ssh -xT -- HOST sandyctl list\"" file_matches "$fake/calls" "^ssh -xT -- root@remote.test sandyctl list$"
rm -rf "$fake"

# --- build: a real job of sandy-helper (a recipe of its own, so it is not built yet)
if busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 '; then
        fixture_declaration User=bld | declare_sandbox bld
        out=$(timeout 600 sandyctl --no-progress build bld 2>&1); rc=$?
        tap_check "sandyctl build bld succeeds" test "$rc" = 0
        tap_check "and says the image is ready" output_matches "$out" "Image of bld is ready"
        tap_check "the image is built now" image_built bld
        out=$(timeout 60 sandyctl --no-progress build bld 2>&1); rc=$?
        tap_check "building it again is a no-op" status_is "$rc" 0 output_matches "$out" "already built"
        # The bar itself, on a terminal (script gives one): a rebuild, so there is a job to follow.
        out=$(timeout 600 script -qec "sandyctl build --force bld" /dev/null </dev/null 2>&1 | tr '\r' '\n'); rc=$?
        tap_check "build --force on a terminal draws a progress bar and ends at 100%" \
                status_is "$rc" 0 output_matches "$out" "^bld \[#+\] 100%"
        declare_sandbox broken <<EOF2
[Image]
From=oci-archive:/nonexistent/image.tar
[Network]
Mode=none
EOF2
        out=$(timeout 120 sandyctl --no-progress build broken 2>&1); rc=$?
        tap_check "a failing build exits 1" test "$rc" = 1
        tap_check "with the helper's message" \
                output_matches "$out" "(Building the image of broken failed|Failed to build the image of broken): .+"
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
for n in ("systemd-nspawn", "user namespaces", "overlayfs", "cgroup v2", "nftables", "debootstrap", "dnsmasq"):
    assert n in names, n
bad = [c for c in checks if c["required"] and c["status"] == "missing"]
assert (int(sys.argv[2]) == 1) == bool(bad), (sys.argv[2], bad)
assert all("fix" in c for c in checks if c["status"] != "ok")' "$out" "$rc"
tap_diag "doctor: exit $rc"
declare_sandbox dock <<EOF2
[Image]
From=debootstrap:bookworm
EOF2
deb=$(command -v debootstrap)
if [ -n "$deb" ] && mount --bind /dev/null "$deb"; then
        out=$(sandyctl --no-pager doctor 2>&1); rc=$?
        umount "$deb"
        tap_check "doctor fails when debootstrap is missing and a debootstrap: sandbox needs it" test "$rc" = 1
        tap_check "and says what to install, and for whom" \
                output_matches "$out" "^debootstrap +missing +yes +.*needed by dock" "^ +-> apt install debootstrap$"
else
        tap_skip "cannot hide debootstrap"
fi
remove_sandbox dock

# --- bash completion
tap_check "completion: verbs" words_are "$(sandyctl_completes sandyctl st)" start status stop
tap_check "completion: declared names" output_matches "$(sandyctl_completes sandyctl start c)" "^ctl$"
tap_check "completion: --json= modes" output_matches "$(sandyctl_completes sandyctl --json=p)" "^pretty$"

remove_sandbox ctl
tap_done
