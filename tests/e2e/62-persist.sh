#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Ephemeral=no keeps the sandbox's changes across restarts until sandyctl reset; PersistHome=yes keeps
# only the user's home of an ephemeral sandbox.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_sandbox keep <<EOF2
[Sandbox]
Ephemeral=no
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image keep
rootfs=$(image_rootfs keep)
tap_check "sandy@keep (Ephemeral=no) starts" timeout 120 systemctl start sandy@keep.service
tap_check "root inside writes to /etc and /opt" as_root_in keep /bin/sh -c 'echo kept > /etc/sandy-probe; mkdir -p /opt/tool; echo t > /opt/tool/bin'
tap_check "the agent writes to its home" as_agent keep sh -c 'echo mine > ~/probe'
tap_check "restart" timeout 120 systemctl restart sandy@keep.service
tap_check "the change in /etc survived the restart" bash -c '[ "$(as_agent keep cat /etc/sandy-probe)" = kept ]'
tap_check "and the one in /opt" bash -c '[ "$(as_agent keep cat /opt/tool/bin)" = t ]'
tap_check "and the agent's home" bash -c '[ "$(as_agent keep cat /home/agent/probe)" = mine ]'
tap_check "the image itself was not written to" test ! -e "$rootfs/etc/sandy-probe" -a ! -e "$rootfs/opt/tool"
tap_check "the upper layer lives in /var/lib/sandy/state/keep" test -f /var/lib/sandy/state/keep/overlay/upper/etc/sandy-probe
tap_check_fails "sandyctl reset refuses while it runs" sandyctl reset keep
tap_check "the state is still there" test -f /var/lib/sandy/state/keep/overlay/upper/etc/sandy-probe
tap_check "stop" timeout 60 systemctl stop sandy@keep.service
tap_check "sandyctl reset discards the state" sandyctl reset keep
tap_check "the state directory is gone" test ! -e /var/lib/sandy/state/keep
tap_check "start again" timeout 120 systemctl start sandy@keep.service
tap_check_fails "the change is gone after the reset" as_agent keep test -e /etc/sandy-probe
systemctl stop sandy@keep.service

declare_sandbox home <<EOF2
[Sandbox]
PersistHome=yes
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image home
tap_check "sandy@home (PersistHome=yes) starts" timeout 120 systemctl start sandy@home.service
tap_check "the home starts from the image's skeleton" as_agent home test -f /home/agent/.bashrc
tap_check "the home belongs to the sandbox user inside" bash -c '[ "$(as_agent home stat -c %U:%G /home/agent)" = agent:agent ]'
tap_check "the agent logs in (writes ~/.claude/token) and root writes /etc" \
        bash -c "as_agent home sh -c 'mkdir -p ~/.claude && echo login > ~/.claude/token' && as_root_in home /bin/sh -c 'echo x > /etc/sandy-probe'"
tap_check "restart" timeout 120 systemctl restart sandy@home.service
tap_check "the home survived" bash -c '[ "$(as_agent home cat /home/agent/.claude/token)" = login ]'
tap_check_fails "the rest did not (ephemeral)" as_agent home test -e /etc/sandy-probe
tap_check "on the host the home is in /var/lib/sandy/state/home/home, in container-relative IDs" \
        bash -c '[ "$(stat -c %u /var/lib/sandy/state/home/home/.claude/token)" = 1000 ]'
systemctl stop sandy@home.service
tap_check "sandyctl reset home discards the home" bash -c 'sandyctl reset home && test ! -e /var/lib/sandy/state/home'

remove_sandbox keep
remove_sandbox home
tap_done
