#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An AutoStart=yes sandbox is running after a reboot of the test host; one without AutoStart is not.
# Runs on the outer machine (it reboots the test host); TESTHOST and TESTHOST_NAME come from run-e2e.sh.
set -uo pipefail
: "${TESTHOST:?run by tests/testhost/run-e2e.sh}" "${TESTHOST_NAME:?}"

# inside COMMAND [ARG...]: a command or a function of lib.sh, run in the test host.
inside() { "$TESTHOST" exec --name "$TESTHOST_NAME" -- /src/tests/e2e/lib-run.sh "$@"; }
n=0 failed=0
# check DESC COMMAND [ARG...]
check() {
        local desc=$1 out
        shift
        n=$((n + 1))
        if out=$(inside "$@" 2>&1); then
                echo "ok $n - $desc"
        else
                echo "not ok $n - $desc"
                printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
                failed=$((failed + 1))
        fi
}

check "declare an AutoStart=yes sandbox" declare_fixture_sandbox auto AutoStart=yes
check "and a manual one" declare_fixture_sandbox manual AutoStart=no
check "machines.target wants sandy@auto" machines_target_wants auto
check "but not sandy@manual" absent /run/systemd/generator/machines.target.wants/sandy@manual.service

n=$((n + 1))
if out=$("$TESTHOST" reboot --name "$TESTHOST_NAME" 2>&1); then
        echo "ok $n - the test host reboots"
else
        echo "not ok $n - the test host reboots"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
        echo "1..$n"
        exit 1
fi

check "this is a new boot" journalctl -b -1 -n 1 -q --no-pager
check "sandy@auto is running after the reboot" wait_for 120 systemctl is-active sandy@auto.service
check "machinectl lists auto" wait_for 30 machine_listed auto
check "a shell in it works" timeout 60 machinectl shell auto /bin/true
check "sandy@manual was not started" unit_inactive sandy@manual.service
check "clean up" stop_and_remove auto manual
echo "1..$n"
[ "$failed" = 0 ]
