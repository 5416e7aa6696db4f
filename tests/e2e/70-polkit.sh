#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# polkit/sandy.rules: a member of group sandy (alice) runs the whole cycle without a password, through
# sandyctl; a non-member (bob) is refused with a clear message; the member still cannot start other
# units, enter machines that are not sandboxes (also one named like a declared sandbox but not run by
# sandy@NAME.service), enter as root, copy files in or out, or make the helper read a path.
# as_user has no PAM session: polkit judges the caller by its bus name, and the rules by group.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
[ -f /usr/share/polkit-1/rules.d/sandy.rules ] || { tap_skip "sandy.rules not installed"; tap_done; exit; }

if ! getent group sandy >/dev/null; then
        # The sysusers.d file creates it at boot; create it here if this build has none.
        groupadd --system sandy
        tap_diag "group sandy did not exist (no sysusers.d entry applied): created with groupadd"
fi
usermod -aG sandy alice

# A sandbox user of its own: the seeded fixture has no "agent", so the test adds its User= to its copy of
# the image, as the image build does. The recipe differs from other tests' (User=), so nobody shares it.
# No Workspace= here: its idmapped mount is sandy-prepare's business (60-*.sh) and depends on the file
# system; the decoy's declaration (never started by sandy) shows the workspace column of list instead.
# Without a workspace a sandbox is root's: Owner=alice makes it hers (72-ownership.sh tests who may what).
declare_sandbox pk <<EOF2
[Sandbox]
User=e2euser
Owner=alice
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_image pk
rootfs=$(image_rootfs pk)
grep -q '^e2euser:' "$rootfs/etc/passwd" || useradd -R "$rootfs" -m -u 1000 -s /bin/bash e2euser

# A declared sandbox whose machine is run by something else than sandy@decoy.service, and a plain machine.
declare_sandbox decoy <<EOF2
[Sandbox]
User=e2euser
Owner=alice
Workspace=/srv/e2e-decoy
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
# nspawn locks its directory (exclusively, unless read-only): the foreign machines get a copy, shared read-only.
foreign=/var/lib/machines/e2e-foreign-root
[ -d "$foreign" ] || cp -a --reflink=auto "$rootfs" "$foreign"
for m in decoy other; do
        systemd-run --quiet --unit="e2e-machine-$m" -p Delegate=yes -p KillMode=mixed -p Type=notify \
                systemd-nspawn --quiet --keep-unit --machine="$m" --directory="$foreign" --read-only \
                --volatile=overlay --private-network -b >/dev/null 2>&1
done
cat >/etc/systemd/system/e2e-other.service <<EOF2
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
EOF2
systemctl daemon-reload

tap_check "alice is in group sandy" bash -c 'id -nG alice | grep -qw sandy'
tap_check_fails "bob is not" bash -c 'id -nG bob | grep -qw sandy'

# --- the member's cycle, no password (--no-ask-password: a prompt would be a failure)
tap_check "alice: sandyctl start pk" as_user alice timeout 120 sandyctl --no-ask-password start pk
tap_check "sandy@pk.service is active" systemctl is-active sandy@pk.service
out=$(as_user alice sandyctl --no-pager list 2>&1)
tap_check "alice: sandyctl list shows pk active" matches "^pk +active +[0-9a-f]{12} +none +- +alice +yes +-$" "$out"
tap_check "and decoy inactive, with its workspace" matches "^decoy +inactive +[0-9a-f]{12} +none +- +alice +yes +/srv/e2e-decoy$" "$out"
out=$(as_user alice sandyctl --json=short list 2>&1)
tap_check "alice: sandyctl --json=short list says active" python3 -c '
import json, sys
rows = {r["name"]: r for r in json.loads(sys.argv[1])}
assert rows["pk"]["state"] == "active", rows
assert rows["pk"]["workspace"] is None, rows
assert rows["decoy"]["state"] == "inactive", rows
assert rows["decoy"]["workspace"] == "/srv/e2e-decoy", rows' "$out"
out=$(as_user alice sandyctl --no-pager status pk 2>&1); rc=$?
tap_check "alice: sandyctl status pk exits 0" test "$rc" = 0
tap_check "and names the running machine" matches "Machine: pk \(leader PID [0-9]+\)" "$out"
out=$(as_user alice timeout 60 sandyctl --no-ask-password shell pk -- /usr/bin/id -un 2>&1 | tr -d "\r")
tap_check "alice: sandyctl shell pk -- CMD runs as the sandbox user" matches "^e2euser$" "$out"
tap_check "alice: machinectl shell e2euser@pk works" \
        as_user alice timeout 60 machinectl --no-ask-password shell e2euser@pk /bin/true
tap_check "alice: machinectl shell pk (as root) is refused" \
        refused as_user alice timeout 60 machinectl --no-ask-password shell pk /bin/true
tap_check "alice: machinectl shell root@pk is refused" \
        refused as_user alice timeout 60 machinectl --no-ask-password shell root@pk /bin/true
tap_check "alice: machinectl copy-to pk is refused (it writes as root)" \
        refused as_user alice timeout 60 machinectl --no-ask-password copy-to pk /etc/hostname /tmp/e2e-copied
tap_check "alice: machinectl copy-from pk is refused (it writes host files as root)" \
        refused as_user alice timeout 60 machinectl --no-ask-password copy-from pk /etc/os-release /tmp/e2e-copied
tap_check "nothing was copied" test ! -e /tmp/e2e-copied
tap_check "alice: systemctl kill sandy@pk is refused (verb kill)" \
        refused as_user alice systemctl --no-ask-password kill sandy@pk.service
tap_check "alice: systemctl enable sandy@pk is refused (unit files)" \
        refused as_user alice systemctl --no-ask-password enable sandy@pk.service
tap_check "alice: sandyctl restart pk" as_user alice timeout 120 sandyctl --no-ask-password restart pk
tap_check "sandy@pk.service is active after restart" systemctl is-active sandy@pk.service
tap_check "alice: machinectl poweroff pk (kill) is allowed" as_user alice machinectl --no-ask-password poweroff pk
tap_check "pk stops after poweroff" wait_for 60 bash -c '! systemctl is-active -q sandy@pk.service'
tap_check "alice: sandyctl start pk again" as_user alice timeout 120 sandyctl --no-ask-password start pk
tap_check "alice: sandyctl stop pk" as_user alice timeout 120 sandyctl --no-ask-password stop pk
tap_check "sandy@pk.service is inactive" bash -c '! systemctl is-active -q sandy@pk.service'
as_user alice sandyctl status pk >/dev/null 2>&1; rc=$?
tap_check "alice: sandyctl status pk exits 3 when stopped" test "$rc" = 3
as_user alice sandyctl status nosuch >/dev/null 2>&1; rc=$?
tap_check "alice: sandyctl status nosuch exits 4" test "$rc" = 4

# --- what the member still cannot do
tap_check "alice cannot start an arbitrary unit" refused as_user alice systemctl --no-ask-password start e2e-other.service
tap_check "alice cannot start systemd-tmpfiles-clean.service" \
        refused as_user alice systemctl --no-ask-password start systemd-tmpfiles-clean.service
tap_check "alice cannot start sandy-net@pk.service directly" \
        refused as_user alice systemctl --no-ask-password start sandy-net@pk.service
tap_check "e2e-other.service did not run" bash -c '! systemctl is-active -q e2e-other.service'
tap_check "machine other is running (root's, not a sandbox)" wait_for 60 machinectl show other
tap_check "machine decoy is running (declared name, foreign unit)" wait_for 60 machinectl show decoy
tap_check "root can shell into other (so a refusal below is polkit's)" \
        wait_for 60 timeout 30 machinectl shell e2euser@other /bin/true
tap_check "alice cannot shell into other" \
        refused as_user alice timeout 60 machinectl --no-ask-password shell e2euser@other /bin/true
tap_check "alice cannot shell into decoy (declared, but not run by sandy@decoy.service)" \
        refused as_user alice timeout 60 machinectl --no-ask-password shell e2euser@decoy /bin/true
tap_check "alice cannot log in to other" \
        refused as_user alice timeout 10 machinectl --no-ask-password login other
tap_check "alice cannot terminate other" refused as_user alice machinectl --no-ask-password terminate other
tap_check "other is still running" machinectl show other
tap_check "alice cannot shell into the host" \
        refused as_user alice timeout 30 machinectl --no-ask-password shell e2euser@.host /bin/true

# --- the helper takes sandbox names, never paths: all refused before anything is read
if busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 '; then
        for bad in ../../etc/shadow /etc/shadow nosuch; do
                out=$(helper_call alice BuildImage sb "$bad" false 2>&1); rc=$?
                tap_check "alice: BuildImage \"$bad\" fails" test "$rc" != 0
                tap_check "  refused by the helper itself, with a reason" \
                        matches "not a valid sandbox name|not declared" "$out"
        done
        tap_check "alice: sandyctl build pk (image present: no job, no password)" \
                as_user alice timeout 120 sandyctl --no-ask-password --no-progress build pk
else
        tap_skip "sandy-helper is not installed: BuildImage refusals not tested"
fi

# --- a non-member: refused, and told why
out=$(as_user bob sandyctl --no-ask-password start pk 2>&1); rc=$?
tap_check "bob: sandyctl start pk fails" test "$rc" = 1
tap_check "bob is told about group sandy" matches "Members of group 'sandy' may" "$out"
tap_check "and that it was an authorization failure" matches "^Not authorized" "$out"
tap_check "sandy@pk.service did not start" bash -c '! systemctl is-active -q sandy@pk.service'
tap_check "root starts pk" timeout 120 sandyctl start pk
tap_check "bob cannot stop pk" refused as_user bob sandyctl --no-ask-password stop pk
tap_check "bob cannot shell into pk as its user" \
        refused as_user bob timeout 60 machinectl --no-ask-password shell e2euser@pk /bin/true
tap_check "bob cannot build pk" refused as_user bob sandyctl --no-ask-password --no-progress build pk
tap_check "pk is still running" systemctl is-active sandy@pk.service
tap_check "root stops pk" timeout 60 sandyctl stop pk

for m in decoy other; do systemctl stop "e2e-machine-$m.service" >/dev/null 2>&1; done
rm -rf "$foreign"
rm -f /etc/systemd/system/e2e-other.service /tmp/e2e-copied
remove_sandbox decoy
remove_sandbox pk
gpasswd -d alice sandy >/dev/null 2>&1
tap_done
