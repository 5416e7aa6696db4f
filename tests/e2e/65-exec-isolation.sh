#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: sandyctl exec hands the command nothing of the caller's (fds, terminal, session, keyring) and
# runs it under the sandbox payload's seccomp filter, bounding set and cgroup; argv and the exit status
# are kept for root and for members of group sandy alike (through sandy-helper's Exec), and a member's
# command gets nothing of sandy-helper's own confinement either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ws=/srv/e2e-exiso
make_workspace "$ws"
ensure_members alice bob
fixture_declaration "Workspace=$ws" | declare_sandbox exiso
seed_probe_image exiso
tap_check "sandy@exiso starts" timeout 120 systemctl start sandy@exiso.service
pid=$(leader exiso)
# sandy-prepare --started keeps the payload's seccomp filter for members; in this test host every service
# runs under the outer nspawn's filter, which forbids reading another's: root's first exec (from outside
# the host's services) reads and keeps it then.
tap_check "root's first exec runs" sandyctl exec exiso -- true
secret=e2e-secret-$RANDOM$RANDOM
install -m 0600 /dev/null /root/e2e-exec-secret
echo "$secret" >/root/e2e-exec-secret

# 1. Inherited descriptors: fd 8 on a root-only file, fd 7 on the host's /.
tap_check "control: a process of ours given fd 8 on a root-only file reads it" \
        with_fd 8 /root/e2e-exec-secret shows "$secret" sh -c 'cat <&8'
tap_check "the command does not get our fd 8" \
        with_fd 8 /root/e2e-exec-secret ran_without "$secret" sandyctl exec exiso -- sh -c 'echo probe-ran; cat <&8'
tap_check "control: a process of ours given fd 7 on / reads the host's /etc/passwd and writes /tmp through it" \
        with_fd 7 / shows "root:x:0:0:root:/root:/bin/bash" sh -c 'cat /proc/self/fd/7/etc/passwd; touch /proc/self/fd/7/tmp/e2e-exec-planted'
rm -f /tmp/e2e-exec-planted
tap_check "the command does not get our fd 7 on /" \
        with_fd 7 / ran_without "root:x:0:0" sandyctl exec exiso -- \
        sh -c 'echo probe-ran; cat /proc/self/fd/7/etc/passwd; touch /proc/self/fd/7/tmp/e2e-exec-planted'
tap_check "and created nothing in the host's /tmp" absent /tmp/e2e-exec-planted
tap_check "only fds 0, 1 and 2 are open in the command" \
        with_fd 5 /dev/null with_fd 9 /dev/null command_fds_are exiso 0 1 2
tap_check "without a terminal, stdin, stdout and stderr are pipes" \
        words_are "$(sandyctl exec exiso -- stat -L -c %F /dev/stdin /dev/stdout /dev/stderr </dev/null 2>/dev/null)" \
        fifo fifo fifo

# 2. Terminal and session: TIOCSTI into the caller's terminal.
tap_check "the command is the leader of a new session" session_leader exiso
tap_check "with a terminal, the command gets a pty of its own, inside the sandbox" exec_pty_probe exiso
tap_check "the pty belongs to the sandbox user" \
        shows agent in_pty sandyctl exec exiso -- sh -c 'stat -c %U $(tty)'
tap_check "exit status through the pty (7)" exits_with 7 in_pty sandyctl exec exiso -- sh -c 'exit 7'
if [ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ]; then
        tap_check "control: TIOCSTI from a process on our terminal reaches our shell" tiocsti_reaches_caller
        tap_check_fails "TIOCSTI from the command does not reach the caller's terminal" \
                tiocsti_reaches_caller sandyctl exec exiso --
        tap_check "control: the same command through the pty ran (it pushed into its own terminal)" \
                shows got:PWNED in_pty sandyctl exec exiso -- sh -c "perl -e '$TIOCSTI_PROBE'; read -r a b; echo got:\$b"
else
        tap_skip "TIOCSTI: this kernel refuses it to unprivileged processes (dev.tty.legacy_tiocsti=0)"
fi

# 3. The session keyring of the caller.
tap_check "control: a process in our session keyring reads our key" \
        with_session_key "$secret" shows "$secret" perl -e "$KEYREAD_PROBE"
tap_check "the command cannot (a fresh session keyring, and keyctl is refused as in the payload)" \
        with_session_key "$secret" ran_without "$secret" sandyctl exec exiso -- sh -c 'echo probe-ran; /usr/local/bin/sandy-test-keyread'
tap_check "control: the same probe runs as root inside (machinectl shell), refused there too" \
        shows errno=1 as_root_in exiso /usr/local/bin/sandy-test-keyread

# 4. The payload's confinement: seccomp, bounding set, cgroup, no_new_privs.
tap_check "the command runs under a seccomp filter (Seccomp: 2)" shows 2 sandyctl exec exiso -- awk '/^Seccomp:/ {print $2}' /proc/self/status
tap_check "its bounding set is the payload's (CapBnd of the leader)" same_status_field exiso CapBnd
tap_check "control: the leader's bounding set is reduced (not 000001ffffffffff)" \
        output_lacks "$(status_field CapBnd /proc/$pid/status)" '^000001ffffffffff$'
tap_check "NoNewPrivs 1" shows 1 sandyctl exec exiso -- awk '/^NoNewPrivs:/ {print $2}' /proc/self/status
for sc in bpf perf_event_open keyctl add_key request_key open_by_handle_at; do
        tap_check "$sc is refused as in the payload (machinectl shell)" refused_like_payload exiso sandy-test-syscall $sc
done
tap_check "control: personality() is allowed alike" like_payload_as root exiso sandy-test-syscall personality
tap_check "the command runs on the host in the sandbox's unit" background_in_unit exiso

# 5. argv and exit status, root and member (alice owns the workspace: she may use the sandbox).
for who in root alice; do
        tap_check "$who: argv arrives exactly (spaces, quotes, newlines, \$(...), \$VAR, \$\$)" argv_exact $who exiso
        tap_check "$who: the exit status is the command's (42)" exits_with 42 exec_as $who exiso -- sh -c 'exit 42'
        tap_check "$who: stdin reaches the command" shows hello exec_as $who exiso -- cat <<<hello
        tap_check "$who: runs as the sandbox user in the workspace" \
                shows 1000:/home/agent/workspace exec_as $who exiso -- sh -c 'echo $(id -u):$PWD'
        tap_check "$who: Seccomp 2" shows 2 exec_as $who exiso -- awk '/^Seccomp:/ {print $2}' /proc/self/status
        tap_check "$who: the leader's bounding set" \
                shows "$(status_field CapBnd /proc/$pid/status)" exec_as $who exiso -- awk '/^CapBnd:/ {print $2}' /proc/self/status
done
tap_check "alice: with a terminal too (pty through sandy-helper)" exec_pty_probe alice exiso
tap_check "alice: exit status through the pty (3)" exits_with 3 in_pty as_alice sandyctl --no-ask-password exec exiso -- sh -c 'exit 3'
tap_check "alice: the command is refused what the payload is refused (bpf)" like_payload_as alice exiso sandy-test-syscall bpf
# sandy-helper.service runs under RestrictAddressFamilies= and LockPersonality=; the payload does not.
tap_check "alice: nothing of sandy-helper's own filter (AF_ALG sockets as in the payload)" \
        like_payload_as alice exiso sandy-test-socket alg
tap_check "alice: nothing of sandy-helper's own filter (personality() as in the payload)" \
        like_payload_as alice exiso sandy-test-syscall personality
tap_check "alice: nothing of sandy-helper's own filter (the command's filters are the leader's, plus what PID 1 has)" \
        exec_filters_like_leader exiso
tap_check "bob, a member of group sandy but not allowed on exiso, is refused" \
        refused as_user bob sandyctl --no-ask-password exec exiso -- touch /home/agent/workspace/by-bob
tap_check "and nothing ran" absent "$ws/by-bob"

systemctl stop sandy@exiso.service
tap_check "exec into the stopped sandbox fails, saying so" \
        output_matches "$(as_alice sandyctl --no-ask-password exec exiso -- true 2>&1)" 'not running'
remove_sandbox exiso
rm -f /root/e2e-exec-secret /tmp/e2e-exec-planted
gpasswd -d alice sandy >/dev/null 2>&1
gpasswd -d bob sandy >/dev/null 2>&1
drop_workspace "$ws"
tap_done
