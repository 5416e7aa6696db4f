#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A start that cannot succeed fails fast (issue 17). On 2698d7b sandy@.service had TimeoutStartSec=30min: a
# booted sandbox whose init never reports ready held `systemctl start` (and sandyctl start) for half an
# hour. Now the container part has 90 s, then the unit fails with result "timeout", saying so, and nothing
# of it is left; the image build before it (sandy-prepare, ExecStartPre=) is not under those 90 s.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

# The image's init never gets ready; its build outlasts the sandbox's 90 s.
hang_image_setup /etc/sandy/hang1-setup.sh 95
declare_sandbox hang1 <<EOT
[Image]
From=oci-archive:$fixture/fixture.oci.tar
Setup=/etc/sandy/hang1-setup.sh
[Network]
Mode=none
EOT
declare_fixture_sandbox good1

tap_check "nothing of hang1 exists before the test" nothing_left_of hang
# systemctl start, not sandyctl start: sandyctl has sandy-helper build the image before it starts the unit,
# systemctl leaves the build to sandy-prepare (ExecStartPre=), under the unit's start timeout.
timeout 600 systemctl start sandy@hang1.service; rc=$?
tap_check "systemctl start hang1 fails by itself (not killed by the test's 600 s)" test "$rc" != 0 -a "$rc" != 124
tap_check "the start built the image for longer than 90 s in ExecStartPre=, and the build was not killed" \
        journal_has sandy@hang1.service "The image of sandbox hang1 is built."
tap_check "hang1 ended with result \"timeout\"" unit_property_is sandy@hang1.service Result timeout
tap_check "systemctl status says why" status_says_timeout hang1
systemctl reset-failed sandy@hang1.service
tap_check "nothing of hang1 is left behind (machine, mounts, settings, runtime files, nspawn's lock)" \
        settled_nothing_left_of hang
# Without the build, through sandyctl: another 90 s, so only on request.
if [ "${SANDY_E2E_SLOW:-0}" = 1 ]; then
        out=$(timeout 600 sandyctl start hang1 2>&1); rc=$?
        echo "$out" | sed 's/^/# /'
        tap_check "sandyctl start hang1 fails by itself" test "$rc" != 0 -a "$rc" != 124
        tap_check "sandyctl start says it timed out" output_matches "$out" "timed out"
        systemctl reset-failed sandy@hang1.service
        tap_check "nothing of hang1 is left behind again" settled_nothing_left_of hang
else
        tap_skip "sandyctl start of the hanging sandbox (another 90 s): set SANDY_E2E_SLOW=1"
fi

# Positive control: the same timeout does not stop a booted sandbox that gets ready.
tap_check "control: a booted sandbox of the fixture image starts" timeout 300 systemctl start sandy@good1.service
tap_check "control: ... and answers" wait_for 60 machinectl --quiet shell good1 /bin/true
stop_and_remove good1
remove_sandbox hang1
rm -f /etc/sandy/hang1-setup.sh
tap_done
