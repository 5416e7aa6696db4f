#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandyctl exec NAME -- argv: exact argv, exit status passed through, as the sandbox user in the
# workspace, for booted and non-booted sandboxes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ws=/srv/e2e-exec
make_workspace "$ws"
for b in booted plain; do
        if [ $b = booted ]; then extra=""; else extra=$'Boot=no\nCommand=/bin/sleep infinity'; fi
        declare_sandbox $b <<EOF2
[Sandbox]
Workspace=$ws
$extra
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
        seed_user_image $b
        tap_check "sandy@$b starts" timeout 120 systemctl start sandy@$b.service
        wait_for 30 test -e /run/systemd/machines/$b
        expected=$'[a b]\n[]\n[it\'s]\n[$HOME]\n[*]\n[--]\n[-x]\n[tab\there]'
        tap_check "$b: argv arrives exactly (no shell)" \
                bash -c "out=\$(sandyctl exec $b -- printf '[%s]\n' 'a b' '' \"it's\" '\$HOME' '*' -- -x \$'tab\there'); [ \"\$out\" = \"\$1\" ] || { echo \"\$out\"; exit 1; }" _ "$expected"
        tap_check "$b: the exit status is the command's (42)" bash -c "sandyctl exec $b -- sh -c 'exit 42'; [ \$? = 42 ]"
        tap_check "$b: exit status 0" sandyctl exec $b -- true
        tap_check "$b: a command that does not exist gives 127" bash -c "sandyctl exec $b -- /nonexistent; [ \$? = 127 ]"
        tap_check "$b: runs as the sandbox user (1000) in the workspace" \
                bash -c "[ \"\$(sandyctl exec $b -- sh -c 'echo \$(id -un):\$(id -u):\$PWD')\" = agent:1000:/home/agent/workspace ]"
        tap_check "$b: with HOME of the user and no caller environment" \
                bash -c "out=\$(SANDY_LEAK=1 sandyctl exec $b -- env); echo \"\$out\" | grep -qx HOME=/home/agent && ! echo \"\$out\" | grep -q SANDY_LEAK"
        tap_check "$b: stdin is passed" bash -c "[ \"\$(echo hello | sandyctl exec $b -- cat)\" = hello ]"
        tap_check "$b: what it writes in the workspace belongs to alice on the host" \
                bash -c "sandyctl exec $b -- touch from-exec-$b && [ \"\$(stat -c %U $ws/from-exec-$b)\" = alice ]"
        tap_check "$b: the command runs in the sandbox's PID namespace" \
                bash -c "[ \"\$(sandyctl exec $b -- readlink /proc/self/ns/pid)\" = \"\$(readlink /proc/\$(leader $b)/ns/pid)\" ]"
        tap_check_fails "$b: bob (not in group sandy) cannot exec into it" \
                as_user bob sandyctl --no-ask-password exec $b -- touch /home/agent/workspace/by-bob
        tap_check "$b: and nothing ran" test ! -e $ws/by-bob
        systemctl stop sandy@$b.service
        tap_check_fails "$b: exec into a stopped sandbox fails" sandyctl exec $b -- true
        remove_sandbox $b
done
tap_check_fails "an undeclared sandbox is refused" sandyctl exec nosuch -- true
drop_workspace "$ws"
tap_done
