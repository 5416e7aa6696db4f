#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: sandyctl exec hands the command nothing of the caller's (fds, terminal, session, keyring) and
# runs it under the sandbox payload's seccomp filter, bounding set and cgroup; argv and the exit status
# are kept for root and for members of group sandy alike (through sandy-helper's Exec).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ws=/srv/e2e-exiso
make_workspace "$ws"
getent group sandy >/dev/null || groupadd --system sandy
usermod -aG sandy alice
declare_sandbox exiso <<EOF2
[Sandbox]
Workspace=$ws
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image exiso
tap_check "sandy@exiso starts" timeout 120 systemctl start sandy@exiso.service
pid=$(leader exiso)
# sandy-prepare --started keeps the payload's seccomp filter for members; in this test host PID 1 runs under
# the outer nspawn's filter, which keeps services from reading another's: root's first exec keeps it then.
sandyctl exec exiso -- true
secret=e2e-secret-$RANDOM$RANDOM
install -m 0600 /dev/null /root/e2e-exec-secret
echo "$secret" >/root/e2e-exec-secret

# Inherited descriptors.
tap_check "control: a process of ours given fd 8 on a root-only file reads it" \
        bash -c "sh -c 'cat <&8' 8</root/e2e-exec-secret | grep -qx '$secret'"
tap_check "the command does not get our fd 8 (a root-only file)" \
        bash -c "out=\$(sandyctl exec exiso -- sh -c 'cat <&8' 8</root/e2e-exec-secret 2>&1); echo \"\$out\"; ! echo \"\$out\" | grep -qF '$secret'"
tap_check "the command does not get our fd 7 on / (the host's /etc/passwd, /tmp)" \
        bash -c "sandyctl exec exiso -- sh -c 'cat /proc/self/fd/7/etc/passwd; touch /proc/self/fd/7/tmp/e2e-exec-planted' 7</ 2>&1; test ! -e /tmp/e2e-exec-planted"
tap_check "only fds 0, 1 and 2 are open in the command" \
        bash -c "out=\$(sandyctl exec exiso -- sh -c 'ls /proc/\$\$/fd' 5</dev/null 6</dev/null 9</dev/null); echo \$out; [ \"\$(echo \$out)\" = '0 1 2' ]"
tap_check "without a terminal, stdin, stdout and stderr are pipes" \
        bash -c "out=\$(sandyctl exec exiso -- sh -c 'stat -L -c %F /dev/stdin /dev/stdout /dev/stderr' </dev/null 2>/dev/null); echo \"\$out\"; [ \"\$(echo \$out)\" = 'fifo fifo fifo' ]"

# Terminal and session.
tap_check "the command is the leader of a new session" \
        bash -c "out=\$(sandyctl exec exiso -- sh -c 'echo \$\$ \$(cut -d\" \" -f6 /proc/\$\$/stat)'); echo \$out; set -- \$out; [ \"\$1\" = \"\$2\" ]"
tap_check "with a terminal, the command gets a pty of its own, inside the sandbox" \
        bash -c "out=\$(in_pty sandyctl exec exiso -- sh -c 'tty; test -t 0 && echo isatty' | tr -d '\r'); echo \"\$out\"; echo \"\$out\" | grep -qx 'isatty' && echo \"\$out\" | grep -qE '^/dev/pts/[0-9]+\$'"
tap_check "the pty belongs to the sandbox user" \
        bash -c "[ \"\$(in_pty sandyctl exec exiso -- sh -c 'stat -c %U \$(tty)' | tr -d '\r')\" = agent ]"
tap_check "exit status through the pty (7)" bash -c "in_pty sandyctl exec exiso -- sh -c 'exit 7' >/dev/null; [ \$? = 7 ]"
if [ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ]; then
        # The probe pushes "echo PWNED" into its stdin's terminal; the calling shell would read it next.
        tiocsti='perl -e "ioctl(STDIN, 0x5412, \$_) for split //, qq(echo PWNED\n)"'
        tap_check "control: TIOCSTI from a process on our terminal reaches our shell" \
                bash -c "in_pty bash -c '$tiocsti; read -t 2 l; echo got:\$l' | tr -d '\r' | grep -q 'got:echo PWNED'"
        tap_check "TIOCSTI from the command does not reach the caller's terminal" \
                bash -c "out=\$(in_pty bash -c 'sandyctl exec exiso -- $tiocsti; read -t 2 l; echo got:\$l' | tr -d '\r'); echo \"\$out\"; ! echo \"\$out\" | grep -q 'got:echo PWNED'"
else
        tap_skip "TIOCSTI: this kernel refuses it to unprivileged processes (dev.tty.legacy_tiocsti=0)"
fi

# The payload's confinement: seccomp, bounding set, cgroup, keyring, no_new_privs.
tap_check "the command runs under a seccomp filter (Seccomp: 2)" \
        bash -c "sandyctl exec exiso -- grep Seccomp: /proc/self/status | grep -qE 'Seccomp:[[:space:]]+2'"
tap_check "its bounding set is the container payload's (CapBnd of the leader)" \
        bash -c "a=\$(sandyctl exec exiso -- awk '/^CapBnd/ {print \$2}' /proc/self/status); b=\$(status_field CapBnd /proc/$pid/status); echo exec=\$a leader=\$b; [ \"\$a\" = \"\$b\" ]"
tap_check "control: the leader's bounding set is reduced (not 000001ffffffffff)" \
        bash -c "[ \"\$(status_field CapBnd /proc/$pid/status)\" != 000001ffffffffff ]"
tap_check "NoNewPrivs 1" bash -c "sandyctl exec exiso -- grep -qE '^NoNewPrivs:[[:space:]]+1' /proc/self/status"
# Each probe gets what it gets through machinectl shell (the payload's filter), and not success.
for sc in "321 0 0 0:bpf" "298 0 0 -1 -1 0:perf_event_open" "250 0 -3 0:keyctl" "248 0 0 0 0 0:add_key" \
          "249 0 0 0 0:request_key" "304 -100 0 0:open_by_handle_at"; do
        args=${sc%:*} n=${sc##*:}
        probe="perl -e '\\$r = syscall(map { \\$_ + 0 } @ARGV); print \\$r < 0 ? \\"errno=\\" . (\\$!+0) : \\"ok\\"' $args"
        tap_check "$n is refused as for the payload (machinectl shell)" \
                bash -c "a=\$(sandyctl exec exiso -- sh -c \"$probe\"); b=\$(machinectl --quiet shell agent@exiso /bin/sh -c \"$probe\" | tr -d '\\r'); echo exec=\$a shell=\$b; [ \"\$a\" = \"\$b\" ] && [ \"\$a\" != ok ]"
done
tap_check "the command's process is in the sandbox's unit on the host" \
        bash -c "sandyctl exec exiso -- sh -c 'cat /proc/self/cgroup; sleep 3' >/dev/null & sleep 1; for p in \$(pgrep -x sleep); do grep -q sandy@exiso.service /proc/\$p/cgroup && exit 0; done; exit 1"

# argv and exit status, root and member (alice is in group sandy, bob is not).
expected=$'[a b]\n[]\n[$(id)]\n[x\ny]\n[it\'s]\n["q"]\n[`id`]'
export EXPECTED="$expected"
for who in root alice; do
        if [ $who = root ]; then run=(); else run=(as_alice); fi
        # (as_alice below runs sandyctl --no-ask-password: a member needs no password for its sandbox)
        tap_check "$who: argv arrives exactly (spaces, quotes, newlines, \$(...))" \
                bash -c "out=\$(\"\$@\" sandyctl --no-ask-password exec exiso -- printf '[%s]\n' 'a b' '' '\$(id)' \$'x\ny' \"it's\" '\"q\"' '\`id\`'); [ \"\$out\" = \"\$EXPECTED\" ] || { echo \"\$out\"; exit 1; }" \
                _ "${run[@]}"
        tap_check "$who: the exit status is the command's (42)" bash -c "\"\$@\" sandyctl --no-ask-password exec exiso -- sh -c 'exit 42'; [ \$? = 42 ]" _ "${run[@]}"
        tap_check "$who: stdin reaches the command" bash -c "[ \"\$(echo hello | \"\$@\" sandyctl --no-ask-password exec exiso -- cat)\" = hello ]" _ "${run[@]}"
        tap_check "$who: runs as the sandbox user in the workspace" \
                bash -c "[ \"\$(\"\$@\" sandyctl --no-ask-password exec exiso -- sh -c 'echo \$(id -u):\$PWD')\" = 1000:/home/agent/workspace ]" _ "${run[@]}"
        tap_check "$who: Seccomp 2 and the leader's bounding set" \
                bash -c "out=\$(\"\$@\" sandyctl --no-ask-password exec exiso -- cat /proc/self/status); echo \"\$out\" | grep -qE 'Seccomp:[[:space:]]+2' && echo \"\$out\" | grep -q \"CapBnd:.\$(status_field CapBnd /proc/$pid/status)\"" _ "${run[@]}"
done
tap_check "alice: with a terminal too (pty through sandy-helper)" \
        bash -c "out=\$(in_pty as_alice sandyctl --no-ask-password exec exiso -- sh -c 'test -t 0 && echo isatty; exit 3' | tr -d '\r'); r=\$?; echo \"\$out\"; echo \"\$out\" | grep -qx isatty"
tap_check_fails "bob (not in group sandy) cannot exec into it" \
        as_user bob sandyctl --no-ask-password exec exiso -- touch /home/agent/workspace/by-bob
tap_check "and nothing ran" test ! -e "$ws/by-bob"

systemctl stop sandy@exiso.service
remove_sandbox exiso
rm -f /root/e2e-exec-secret /tmp/e2e-exec-planted
gpasswd -d alice sandy >/dev/null 2>&1
drop_workspace "$ws"
tap_done
