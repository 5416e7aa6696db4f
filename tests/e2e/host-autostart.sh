#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An AutoStart=yes sandbox is running after a reboot of the test host; one without AutoStart is not.
# Runs on the outer machine (it reboots the test host); TESTHOST and TESTHOST_NAME come from run-e2e.sh.
set -uo pipefail
: "${TESTHOST:?run by tests/testhost/run-e2e.sh}" "${TESTHOST_NAME:?}"

inside() { "$TESTHOST" exec --name "$TESTHOST_NAME" -- /bin/bash -c ". /src/tests/e2e/lib.sh; $1"; }
n=0 failed=0
check() {
        local desc=$1 out
        n=$((n + 1))
        if out=$(inside "$2" 2>&1); then
                echo "ok $n - $desc"
        else
                echo "not ok $n - $desc"
                printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
                failed=$((failed + 1))
        fi
}

check "declare an AutoStart=yes and a manual sandbox" '
        fixture=$(fixture_dir) || exit 1
        for s in auto manual; do
                [ $s = auto ] && a=yes || a=no
                printf "[Sandbox]\nAutoStart=%s\n[Image]\nFrom=oci-archive:%s/fixture.oci.tar\n[Network]\nMode=none\n" \
                        $a "$fixture" >/etc/sandy.d/$s.sandbox
        done
        systemctl daemon-reload && seed_image auto && seed_image manual'
check "machines.target wants sandy@auto, not sandy@manual" '
        test -L /run/systemd/generator/machines.target.wants/sandy@auto.service &&
        test ! -e /run/systemd/generator/machines.target.wants/sandy@manual.service'

n=$((n + 1))
if out=$("$TESTHOST" reboot --name "$TESTHOST_NAME" 2>&1); then
        echo "ok $n - the test host reboots"
else
        echo "not ok $n - the test host reboots"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
        echo "1..$n"
        exit 1
fi

check "this is a new boot" 'journalctl -b -1 -n 1 -q --no-pager >/dev/null'
check "sandy@auto is running after the reboot" 'wait_for 120 systemctl is-active sandy@auto.service'
check "machinectl lists auto" 'wait_for 30 bash -c "machinectl list --no-legend | grep -q \"^auto \""'
check "a shell in it works" 'timeout 60 machinectl shell auto /bin/true'
check "sandy@manual was not started" '! systemctl is-active -q sandy@manual.service'
check "clean up" 'machinectl stop auto; wait_for 30 bash -c "! systemctl is-active -q sandy@auto.service"; rm -f /etc/sandy.d/auto.sandbox /etc/sandy.d/manual.sandbox; systemctl daemon-reload'
echo "1..$n"
[ "$failed" = 0 ]
