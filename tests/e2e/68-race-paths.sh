#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: the workspace and Credential= files are opened once, without symlinks, and used through that
# fd: a user who owns a parent directory cannot swap it for a symlink between check and mount, and a user's
# symlink never makes root read a file for the sandbox (neither sandy-prepare nor nspawn, later).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

# bob owns /srv/e2e-race (a parent of alice's workspace) and keeps exchanging p (the real directory)
# with q (a symlink to his own tree, whose ws/ is his private directory).
base=/srv/e2e-race
mkdir -p $base && mountpoint -q $base || mount -t tmpfs -o mode=0755 tmpfs $base
chown bob:bob $base
as_user bob sh -c "mkdir -p $base/p $base/bobtree/ws && chmod 700 $base/bobtree/ws && echo bob-secret > $base/bobtree/ws/secret && ln -s bobtree $base/q"
mkdir -p $base/p/ws && chown alice:alice $base/p/ws && echo alice-file > $base/p/ws/mine && chown alice:alice $base/p/ws/mine
declare_sandbox race <<EOF2
[Sandbox]
Workspace=$base/p/ws
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image race
tap_check "control: sandy@race starts without the swap" timeout 120 systemctl start sandy@race.service
tap_check "control: then the sandbox sees alice's workspace" shows alice-file as_agent race cat mine
systemctl stop sandy@race.service
tap_check "control: bob's directory holds his secret" shows bob-secret as_user bob cat $base/bobtree/ws/secret
swap_loop_as bob $base/p $base/q 180 0.01 &
swapper=$!
tap_check "control: the swap runs (p is bob's symlink some of the time)" wait_for 10 test -L $base/p
leaked=0 started=0
for i in $(seq 30); do
        if timeout 60 systemctl start sandy@race.service 2>/dev/null; then
                started=$((started + 1))
                as_agent race cat secret 2>/dev/null | grep -q bob-secret && leaked=$((leaked + 1))
                systemctl stop sandy@race.service
        fi
done
kill_tree $swapper
wait $swapper 2>/dev/null
# Put p back in place whatever state the loop left.
[ -L $base/p ] && as_user bob python3 -c "import ctypes; ctypes.CDLL(None).renameat2(-100, b'$base/p', -100, b'$base/q', 2)"
tap_diag "30 starts under the swap: $started started, $leaked showed bob's directory"
tap_check "bob's private directory was never mounted into alice's sandbox" test $leaked = 0
if [ $started -lt 30 ]; then
        tap_check "refused starts say why (a symlink)" journal_has sandy@race.service symlink
fi
remove_sandbox race

# Credential= of a file in alice's home-like directory: alice swaps it for a symlink to a root-only file.
make_workspace /srv/e2e-credws
secret=cred-root-$RANDOM$RANDOM
install -m 0600 /dev/null /root/e2e-root-only && echo "$secret" >/root/e2e-root-only
mkdir -p /srv/e2e-alicehome && chown alice:alice /srv/e2e-alicehome
as_user alice sh -c "echo alice-token > /srv/e2e-alicehome/token"
declare_sandbox credrace <<EOF2
[Sandbox]
Workspace=/srv/e2e-credws
Credential=k:/srv/e2e-alicehome/token
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image credrace
tap_check "control: sandy@credrace starts" timeout 120 systemctl start sandy@credrace.service
tap_check "control: alice's own token is her credential" shows alice-token as_agent credrace cat /run/sandy/credentials/k
tap_check "control: and the sandbox's system credential (nspawn's)" \
        shows alice-token as_root_in credrace /bin/cat /run/credentials/@system/k
systemctl stop sandy@credrace.service

# She wins the race between sandy-prepare's read and nspawn's start (simulated by a drop-in that swaps the
# file right after sandy-prepare, as alice): nspawn must not load the symlink's target as root.
mkdir -p /run/systemd/system/sandy@credrace.service.d
printf '[Service]\nExecStartPre=setpriv --reuid=alice --regid=alice --clear-groups -- ln -sfn /root/e2e-root-only /srv/e2e-alicehome/token\n' \
        >/run/systemd/system/sandy@credrace.service.d/e2e-race.conf
systemctl daemon-reload
tap_check "sandy@credrace starts (the swap after sandy-prepare's read)" timeout 120 systemctl start sandy@credrace.service
tap_check "control: the swap happened" shows /root/e2e-root-only readlink /srv/e2e-alicehome/token
tap_check "the sandbox's system credential is still alice's token (nspawn loaded sandy's copy)" \
        ran_without "$secret" as_root_in credrace /bin/sh -c 'echo probe-ran; cat /run/credentials/@system/k'
tap_check "and so is the agent's" shows alice-token as_agent credrace cat /run/sandy/credentials/k
systemctl stop sandy@credrace.service
rm -rf /run/systemd/system/sandy@credrace.service.d
systemctl daemon-reload

# The symlink in place at start: nothing is read through it, and the start says why.
cursor=$(journal_cursor)
tap_check_fails "with a symlink to a root-only file in place, the start fails" \
        timeout 120 systemctl start sandy@credrace.service
tap_check "saying why" journal_since_has "$cursor" "Credential k of sandbox credrace"
tap_check "and nothing was copied for the sandbox" absent /run/sandy/credrace/credentials/k
systemctl stop sandy@credrace.service 2>/dev/null
# A hard link to a file alice may not read, if the kernel lets her make one at all.
as_user alice rm -f /srv/e2e-alicehome/token
if as_user alice ln /root/e2e-root-only /srv/e2e-alicehome/token 2>/dev/null; then
        tap_check_fails "with a hard link to a root-only file in place, the start fails" \
                timeout 120 systemctl start sandy@credrace.service
        tap_check "and nothing was copied for the sandbox" absent /run/sandy/credrace/credentials/k
        systemctl stop sandy@credrace.service 2>/dev/null
else
        tap_skip "the kernel does not let alice hard-link a file she cannot read (fs.protected_hardlinks)"
fi

# A root-owned credential file is read (open_trusted), a root-owned one in a directory alice may write is not.
install -d -m 0755 /etc/e2e-creds && echo root-token >/etc/e2e-creds/t && chmod 0600 /etc/e2e-creds/t
mkdir -p /srv/e2e-alicehome/rootfile && echo root-in-alice >/srv/e2e-alicehome/rootfile/t
sed -i 's|^Credential=.*|Credential=k:/etc/e2e-creds/t|' /etc/sandy.d/credrace.sandbox
systemctl daemon-reload
tap_check "control: a credential file of root's in root's directories is read" \
        credential_is credrace k root-token
systemctl stop sandy@credrace.service
sed -i 's|^Credential=.*|Credential=k:/srv/e2e-alicehome/rootfile/t|' /etc/sandy.d/credrace.sandbox
systemctl daemon-reload
cursor=$(journal_cursor)
tap_check_fails "root's file below a directory of alice's is refused" timeout 120 systemctl start sandy@credrace.service
tap_check "saying why" journal_since_has "$cursor" "Credential k of sandbox credrace"
systemctl stop sandy@credrace.service 2>/dev/null
remove_sandbox credrace
rm -rf /srv/e2e-alicehome /root/e2e-root-only /etc/e2e-creds
drop_workspace /srv/e2e-credws
umount -l $base 2>/dev/null
rmdir $base 2>/dev/null
tap_done
