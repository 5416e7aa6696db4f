#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Clean stop (issue 17): a sandbox stopped on purpose ends inactive, not failed. On 2698d7b a Boot=no
# sandbox ran its command as PID 1, which ignores the SIGTERM of a stop; nspawn SIGKILLed it and exited 1,
# and every `systemctl stop` left the unit failed (exit-code). A command's own failure must still show.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_fixture_sandbox sleeper Boot=no "Command=/bin/sleep infinity"
# Exits 143 on SIGTERM, as shells and many programs do: a stop is still no failure.
declare_fixture_sandbox trapper Boot=no "Command=/bin/sh -c 'trap \"exit 143\" TERM; sleep infinity & wait'"
declare_fixture_sandbox booted
declare_fixture_sandbox fails Boot=no "Command=/bin/sh -c 'exit 3'"
declare_fixture_sandbox ends Boot=no Command=/bin/true

mark_journal
tap_check "sleeper, trapper and booted start with one systemctl start" \
        timeout 300 systemctl start sandy@sleeper.service sandy@trapper.service sandy@booted.service
tap_check "systemctl stop sleeper (sleep infinity): inactive, not failed" stop_clean sleeper
tap_check "systemctl stop trapper (exits 143 on SIGTERM): inactive" stop_clean trapper
tap_check "systemctl stop booted (Boot=yes): inactive" stop_clean booted

# machinectl poweroff sends SIGRTMIN+4 to the container's init: a booted systemd powers off; for Boot=no
# the stub init does (the command as PID 1 ignored it, and the sandbox kept running).
tap_check "sleeper and booted start again" timeout 300 systemctl start sandy@sleeper.service sandy@booted.service
tap_check "machinectl poweroff sleeper: it stops, inactive" poweroff_clean sleeper
tap_check "machinectl poweroff booted: it stops, inactive" poweroff_clean booted

# Positive controls: a command that fails by itself still fails the unit, one that succeeds does not.
systemctl start sandy@fails.service >/dev/null 2>&1
tap_check "control: a command that exits 3 by itself leaves the unit failed (exit-code, status 3)" \
        unit_ended fails failed exit-code 3
tap_check "control: ... and the journal says so (the check below can see a failure)" \
        journal_failed fails
systemctl start sandy@ends.service >/dev/null 2>&1
tap_check "control: a command that exits 0 by itself ends inactive" unit_ended ends inactive success 0
tap_check_fails "no sandbox stopped on purpose logged \"Failed with result\"" journal_failed sleeper trapper booted

# A command that ignores SIGTERM and SIGHUP gets the stub init's 90 s, then a clean poweroff: slow, so only
# on request.
if [ "${SANDY_E2E_SLOW:-0}" = 1 ]; then
        declare_fixture_sandbox stubborn Boot=no "Command=/bin/sh -c 'trap \"\" TERM HUP; sleep infinity & wait; wait'"
        tap_check "stubborn (ignores SIGTERM and SIGHUP) starts" timeout 300 systemctl start sandy@stubborn.service
        tap_check "systemctl stop stubborn: inactive after the stub init's grace" \
                stop_clean stubborn
        remove_sandbox stubborn
else
        tap_skip "a command ignoring SIGTERM and SIGHUP (takes 90 s): set SANDY_E2E_SLOW=1"
fi

for n in sleeper trapper booted fails ends; do remove_sandbox $n; done
systemctl reset-failed 'sandy@*' 2>/dev/null
tap_done
