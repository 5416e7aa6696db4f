#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: the ephemeral root's tmpfs has a size (EphemeralSize=, default 25% of memory) and an inode
# limit; NestedUserNamespaces=no leaves the agent no user namespace of its own (the default allows them,
# for agents that sandbox themselves with bubblewrap).
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
tap_check "the upper layer's tmpfs has size=64M and nr_inodes" \
        bash -c "o=\$(findmnt -n -o OPTIONS /run/sandy/tsize/tmp); echo \$o; echo \$o | grep -q 'size=65536k' && echo \$o | grep -q 'nr_inodes='"
tap_check "writing 100 MB into the root fails (ENOSPC)" \
        bash -c "as_root_in tsize /bin/sh -c 'dd if=/dev/zero of=/var/tmp/big bs=1M count=100 status=none' 2>&1 | grep -F 'No space left'"
tap_check "control: 16 MB fit" as_root_in tsize /bin/sh -c 'rm -f /var/tmp/big; dd if=/dev/zero of=/var/tmp/ok bs=1M count=16 status=none'
systemctl stop sandy@tsize.service
remove_sandbox tsize

declare_sandbox tdef <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image tdef
tap_check "sandy@tdef starts" timeout 120 systemctl start sandy@tdef.service
tap_check "by default the tmpfs is bounded too (size= and nr_inodes=)" \
        bash -c "o=\$(findmnt -n -o OPTIONS /run/sandy/tdef/tmp); echo \$o; echo \$o | grep -q 'size=' && echo \$o | grep -q 'nr_inodes='"
tap_check "control: by default the agent may create user namespaces (unshare -U -r)" \
        bash -c "[ \"\$(as_agent tdef unshare -U -r id -u)\" = 0 ]"
systemctl stop sandy@tdef.service
remove_sandbox tdef

declare_sandbox nouserns <<EOF2
[Sandbox]
NestedUserNamespaces=no
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image nouserns
tap_check "sandy@nouserns starts" timeout 120 systemctl start sandy@nouserns.service
tap_check_fails "the agent (sandyctl exec) cannot create a user namespace" as_agent nouserns unshare -U -r true
tap_check_fails "nor through clone() (unshare -U --fork)" as_agent nouserns unshare -U -r --fork true
tap_check_fails "root inside (machinectl shell) cannot either" as_root_in nouserns /usr/bin/unshare -U true
tap_check "max_user_namespaces is 0 inside" bash -c "as_agent nouserns cat /proc/sys/user/max_user_namespaces | grep -qx 0"
tap_check "the sandbox has no CAP_SYS_RESOURCE to raise it" \
        bash -c "b=\$(status_field CapBnd /proc/\$(leader nouserns)/status); (( (0x\$b >> 24) & 1 )) && exit 1 || exit 0"
tap_check_fails "root inside cannot raise it" as_root_in nouserns /bin/sh -c 'echo 100 > /proc/sys/user/max_user_namespaces'
tap_check "other namespaces still work for root inside (unshare -m)" as_root_in nouserns /usr/bin/unshare -m true
systemctl stop sandy@nouserns.service
remove_sandbox nouserns
tap_done
