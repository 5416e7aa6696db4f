#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: the workspace and Credential= files are opened once, without symlinks, and used through that
# fd: a user who owns a parent directory cannot swap it for a symlink between check and mount, and a user's
# symlink never makes root read a file for the sandbox.
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
tap_check "control: without the swap the sandbox sees alice's workspace" \
        bash -c "timeout 120 systemctl start sandy@race.service && as_agent race cat mine | grep -qx alice-file"
systemctl stop sandy@race.service
tap_check "control: bob's directory holds his secret" bash -c "as_user bob cat $base/bobtree/ws/secret | grep -qx bob-secret"
as_user bob bash -c "swap_loop $base/p $base/q 90" &
swapper=$!
leaked=0 started=0
for i in $(seq 12); do
        if timeout 60 systemctl start sandy@race.service 2>/dev/null; then
                started=$((started + 1))
                as_agent race cat secret 2>/dev/null | grep -q bob-secret && leaked=$((leaked + 1))
                systemctl stop sandy@race.service
        fi
done
kill $swapper 2>/dev/null
wait $swapper 2>/dev/null
# Put p back in place whatever state the loop left.
[ -L $base/p ] && as_user bob python3 -c "import ctypes; ctypes.CDLL(None).renameat2(-100, b'$base/p', -100, b'$base/q', 2)"
tap_diag "12 starts under the swap: $started started, $leaked showed bob's directory"
tap_check "bob's private directory was never mounted into alice's sandbox" test $leaked = 0
tap_check "refused starts say why (a symlink)" \
        bash -c "[ $started = 12 ] || journalctl -u sandy@race --no-pager -o cat | grep -qF 'symlink'"
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
tap_check "control: alice's own token is her credential" \
        bash -c "timeout 120 systemctl start sandy@credrace.service && [ \"\$(as_agent credrace cat /run/sandy/credentials/k)\" = alice-token ]"
systemctl stop sandy@credrace.service
as_user alice sh -c "rm /srv/e2e-alicehome/token && ln -s /root/e2e-root-only /srv/e2e-alicehome/token"
timeout 120 systemctl start sandy@credrace.service >/dev/null 2>&1
tap_check "a symlink to a root-only file is not read for her" \
        bash -c "! as_agent credrace cat /run/sandy/credentials/k 2>/dev/null | grep -qF '$secret'"
tap_check "the start refused it, saying why" \
        bash -c "journalctl -u sandy@credrace --no-pager -o cat | grep -F 'Credential k of sandbox credrace'"
systemctl stop sandy@credrace.service 2>/dev/null
# A hard link to a file alice may not read (if the kernel lets her make one at all) is not read either.
as_user alice sh -c "rm -f /srv/e2e-alicehome/token; ln /root/e2e-root-only /srv/e2e-alicehome/token" 2>/dev/null
timeout 120 systemctl start sandy@credrace.service >/dev/null 2>&1
tap_check "nor a hard link to it" bash -c "! as_agent credrace cat /run/sandy/credentials/k 2>/dev/null | grep -qF '$secret'"
systemctl stop sandy@credrace.service 2>/dev/null
remove_sandbox credrace
rm -rf /srv/e2e-alicehome /root/e2e-root-only
drop_workspace /srv/e2e-credws
umount -l $base 2>/dev/null; rmdir $base 2>/dev/null
tap_done
