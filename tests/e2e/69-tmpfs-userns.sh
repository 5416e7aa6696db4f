#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: the ephemeral root's tmpfs has a size (EphemeralSize=, default 25% of memory) and an inode
# limit; NestedUserNamespaces=no leaves nothing in the sandbox a user namespace of its own, from the first
# process of the payload on (the default allows them, for agents that sandbox themselves with bubblewrap).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_sandbox tsize <<EOF2
[Sandbox]
EphemeralSize=64M
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image tsize
tap_check "sandy@tsize starts" timeout 120 systemctl start sandy@tsize.service
tap_check "the upper layer's tmpfs has size=64M and nr_inodes" mount_options_have /run/sandy/tsize/tmp size=65536k nr_inodes=
tap_check "writing 100 MB into the root fails (ENOSPC)" \
        output_matches "$(as_root_in tsize /bin/dd if=/dev/zero of=/var/tmp/big bs=1M count=100 status=none 2>&1)" \
        'No space left'
tap_check "control: 16 MB fit" \
        output_lacks "$(as_root_in tsize /bin/sh -c 'rm -f /var/tmp/big; dd if=/dev/zero of=/var/tmp/ok bs=1M count=16 status=none && echo wrote-16M' 2>&1)" \
        'No space left'
tap_check "control: the 16 MB file is there" \
        output_matches "$(as_root_in tsize /bin/stat -c %s /var/tmp/ok 2>&1)" '^16777216'
systemctl stop sandy@tsize.service
remove_sandbox tsize

# The default sandbox doubles as the positive control of the user-namespace checks below: the same probes
# succeed there, at the payload's start and later.
early=/run/early-userns
ensure_members alice
for n in tdef nouserns; do
        opt=""
        [ $n = nouserns ] && opt=NestedUserNamespaces=no
        # Boot=no: the payload's command itself tries first thing, before anything of sandy's could run.
        declare_sandbox $n <<EOF2
[Sandbox]
$opt
Owner=alice
Boot=no
Command=/bin/sh -c "unshare -U -r true 2>&1 && echo made > $early || echo refused > $early; exec sleep infinity"
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
        seed_probe_image $n
        tap_check "sandy@$n starts" timeout 120 systemctl start sandy@$n.service
        wait_for 30 as_agent $n test -s $early
        declare_sandbox ${n}b <<EOF2
[Sandbox]
$opt
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
        seed_probe_image ${n}b
        tap_check "sandy@${n}b (booted) starts" timeout 120 systemctl start sandy@${n}b.service
done
tap_check "by default the tmpfs is bounded too (size= and nr_inodes=)" mount_options_have /run/sandy/tdefb/tmp size= nr_inodes=

tap_check "control: by default the payload's first process creates a user namespace" \
        shows made as_agent tdef cat $early
tap_check "control: by default the agent may create user namespaces (unshare -U -r)" shows 0 as_agent tdefb unshare -U -r id -u
tap_check "control: and through clone() (unshare --fork)" shows 0 as_agent tdefb unshare -U -r --fork id -u
tap_check "control: and root inside (machinectl shell)" shows ok as_root_in tdefb /usr/local/bin/sandy-test-syscall unshare_user
tap_check "control: a member's exec may (through sandy-helper)" \
        shows 0 as_alice sandyctl --no-ask-password exec tdef -- unshare -U -r id -u

tap_check "NestedUserNamespaces=no: the payload's first process could not create one" \
        shows refused as_agent nouserns cat $early
tap_check "the agent (sandyctl exec) cannot (EPERM)" \
        output_matches "$(as_agent nousernsb unshare -U -r true 2>&1)" 'Operation not permitted'
tap_check "nor through clone() (unshare --fork)" \
        output_matches "$(as_agent nousernsb unshare -U -r --fork true 2>&1)" 'Operation not permitted'
tap_check "root inside (machinectl shell) cannot either" shows errno=1 as_root_in nousernsb /usr/local/bin/sandy-test-syscall unshare_user
tap_check "nor a member's exec (through sandy-helper)" \
        output_matches "$(as_alice sandyctl --no-ask-password exec nouserns -- unshare -U -r true 2>&1)" 'Operation not permitted'
tap_check "control: other namespaces still work for root inside (unshare -m)" \
        output_lacks "$(as_root_in nousernsb /usr/bin/unshare -m /bin/echo unshared-m 2>&1)" 'not permitted'
tap_check "control: and unshare -m did run" shows unshared-m as_root_in nousernsb /usr/bin/unshare -m /bin/echo unshared-m
tap_check "the booted sandbox came up fully (systemctl is-system-running)" \
        wait_for 60 shows running as_root_in nousernsb /bin/systemctl is-system-running
tap_check "its PID 1 is the sandbox's systemd" \
        output_matches "$(as_root_in nousernsb /bin/cat /proc/1/comm 2>&1)" '^systemd'
cursor=$(journal_cursor)
tap_check "sandy@nousernsb stops cleanly (the payload's own shutdown)" timeout 60 systemctl stop sandy@nousernsb.service
tap_check "through the init's shutdown, not SIGKILL" journal_since_has "$cursor" "Halting system"

for n in tdef tdefb nouserns nousernsb; do
        systemctl stop sandy@$n.service
        remove_sandbox $n
done
gpasswd -d alice sandy >/dev/null 2>&1
tap_done
