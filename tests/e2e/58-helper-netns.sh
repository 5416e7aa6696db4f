#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandy-helper makes no mount that must be seen outside its own mount namespace (issue 14): it hands the
# sandbox's network namespace to sandy-netctl (sandy-net@NAME, host mount namespace), which pins it. So the
# helper may run with PrivateMounts= (the hardening issue 12 gives it), and a sandbox still gets its network.
# The helper stays while sandboxes run (it guards their rules), comes back after a crash (Upholds= of
# sandy-net@NAME), takes the running sandboxes over again, and goes when idle once none runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
dropin=/run/systemd/system/sandy-helper.service.d/58-e2e.conf
cleanup() {
        remove_sandbox hmnt
        rm -f "$dropin"
        systemctl daemon-reload
        systemctl stop sandy-helper.service 2>/dev/null
}
trap cleanup EXIT

mkdir -p "$(dirname "$dropin")"
printf '[Service]\nPrivateMounts=yes\nEnvironment=SANDY_HELPER_EXIT_IDLE_SEC=2\n' >"$dropin"
systemctl daemon-reload
systemctl stop sandy-helper.service 2>/dev/null

declare_sandbox hmnt <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=lenient
EOF2
seed_image hmnt
tap_check "with sandy-helper in a mount namespace of its own, a lenient sandbox starts" \
        timeout 120 systemctl start sandy@hmnt.service
wait_for 60 test -e /run/systemd/machines/hmnt
hpid=$(systemctl show -P MainPID sandy-helper.service)
tap_check "the helper runs in a mount namespace of its own (the control: PID 1's differs)" \
        bash -c '[ "$1" -gt 1 ] && [ "$(readlink /proc/$1/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]' _ "$hpid"
tap_check "the pin is a mount in the host's mount namespace" \
        bash -c 'findmnt -n /run/sandy/netns/hmnt >/dev/null'
tap_check "nspawn runs in the pinned namespace" \
        bash -c '[ "$(readlink /proc/$(leader hmnt)/ns/net)" = "$(nsenter --net=/run/sandy/netns/hmnt readlink /proc/self/ns/net)" ]'
tap_check "it reaches the internet canary" sb_reaches hmnt 203.0.113.10 80
tap_check "and not the LAN" sb_blocked hmnt 192.168.77.1 80

# The idle timeout is 2 s: while a sandbox runs, the helper stays (it guards the rules).
sleep 4
tap_check "with a sandbox running, the helper does not exit when idle" systemctl is-active -q sandy-helper.service
tap_check "it is the same process" bash -c '[ "$(systemctl show -P MainPID sandy-helper.service)" = "$1" ]' _ "$hpid"

# A crash: systemd starts it again (Upholds=), it takes the sandbox over, and restores again.
# (MainPID is 0 when the helper is not running: "kill -9 0" would kill this test's whole process group.)
[ "$hpid" -gt 1 ] && kill -9 "$hpid"
tap_check "after SIGKILL, the helper is running again (Upholds= of sandy-net@)" \
        wait_for 10 bash -c '[ "$(systemctl show -P MainPID sandy-helper.service)" -gt 1 ] && [ "$(systemctl show -P MainPID sandy-helper.service)" != "$1" ]' _ "$hpid"
tap_check "the sandbox was not restarted and still reaches the internet" sb_reaches hmnt 203.0.113.10 80
# Active (Type=dbus: it has its name) once it has taken the running sandboxes over.
tap_check "the new helper is active" wait_for 10 systemctl is-active -q sandy-helper.service
nft flush ruleset
tap_check "the new helper restores the host's table within 1 s" table_back_within 1000
nsenter --net=/run/sandy/netns/hmnt nft delete table inet sandy
tap_check "and the sandbox's own table within 1 s" wait_for 1 /usr/libexec/sandy/sandy-netctl check
tap_check "the sandbox still cannot reach the LAN" sb_blocked hmnt 192.168.77.1 80

tap_check "stop" timeout 60 systemctl stop sandy@hmnt.service
tap_check "the pin is gone" wait_for 20 bash -c '! test -e /run/sandy/netns/hmnt'
tap_check "with no sandbox left, the helper exits when idle" wait_for 30 bash -c '! systemctl is-active -q sandy-helper.service'

tap_done
