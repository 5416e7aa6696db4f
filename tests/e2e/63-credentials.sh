#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Credential=ID:PATH: readable inside by the sandbox user only, never in the environment, the unit,
# systemctl show or the image.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

secret=sandy-cred-$RANDOM$RANDOM$RANDOM
install -m 0600 /dev/null /etc/sandy-e2e-cred
echo "$secret" >/etc/sandy-e2e-cred
declare_sandbox cred <<EOF2
[Sandbox]
Credential=api-key:/etc/sandy-e2e-cred
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image cred
tap_check "sandy@cred starts" timeout 120 systemctl start sandy@cred.service
tap_check "the sandbox user reads it at /run/sandy/credentials/api-key" \
        bash -c "[ \"\$(as_agent cred cat /run/sandy/credentials/api-key)\" = '$secret' ]"
tap_check "it is the user's, mode 0400" bash -c '[ "$(as_agent cred stat -c %U:%a /run/sandy/credentials/api-key)" = agent:400 ]'
tap_check "another user inside cannot read it" \
        bash -c "as_root_in cred /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /bin/cat /run/sandy/credentials/api-key 2>&1 | grep -F 'Permission denied'"
tap_check "the booted system also has it as a root-only system credential" \
        bash -c "as_root_in cred /bin/cat /run/credentials/@system/api-key | grep -qF '$secret'"
tap_check "not in systemctl show" bash -c "! systemctl show sandy@cred.service | grep -qF '$secret'"
tap_check "not in the generated units" bash -c "! grep -rqF '$secret' /run/systemd/generator /run/systemd/nspawn"
tap_check "not in the environment of any process inside" \
        bash -c "pid=\$(leader cred); for p in \$(ls /proc | grep -E '^[0-9]+\$'); do [ \"\$(readlink /proc/\$p/ns/pid)\" = \"\$(readlink /proc/\$pid/ns/pid)\" ] || continue; ! grep -qaF '$secret' /proc/\$p/environ 2>/dev/null || { echo \"in environ of \$p\"; exit 1; }; done"
tap_check "not in the agent's environment" bash -c "! as_agent cred env | grep -qF '$secret'"
tap_check "not in the image" bash -c "! grep -rqF '$secret' '$(image_rootfs cred)/etc' '$(image_rootfs cred)/home' '$(image_rootfs cred)/run' '$(image_rootfs cred)/var'"
tap_check "stop" timeout 60 systemctl stop sandy@cred.service
tap_check "the copy is gone after stop" test ! -e /run/sandy/cred/credentials

remove_sandbox cred
rm -f /etc/sandy-e2e-cred
tap_done
