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

# Both: the workspace is mounted inside the persistent home.
make_workspace /srv/e2e-homews
declare_sandbox homews <<EOF2
[Sandbox]
PersistHome=yes
Workspace=/srv/e2e-homews
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image homews
tap_check "sandy@homews (PersistHome=yes and a workspace) starts" timeout 120 systemctl start sandy@homews.service
tap_check "the agent writes to its home and to the workspace" \
        as_agent homews sh -c 'echo h > ~/probe && echo w > ~/workspace/probe'
tap_check "the workspace file belongs to alice on the host" bash -c '[ "$(stat -c %U /srv/e2e-homews/probe)" = alice ]'
tap_check "the workspace did not land in the persistent home" test ! -e /var/lib/sandy/state/homews/home/workspace/probe
tap_check "restart" timeout 120 systemctl restart sandy@homews.service
tap_check "both are there after the restart" \
        bash -c '[ "$(as_agent homews cat /home/agent/probe /home/agent/workspace/probe | tr -d "\n")" = hw ]'
systemctl stop sandy@homews.service
remove_sandbox homews
sandyctl reset homews
drop_workspace /srv/e2e-homews

# An image whose home is a symlink to a host path must not get that host directory copied in.
mkdir -p /root/sandy-e2e-home/evil
echo host-secret >/root/sandy-e2e-home/evil/marker
declare_sandbox evilhome <<EOF2
[Sandbox]
User=evil
PersistHome=yes
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_image evilhome
r=$(image_rootfs evilhome)
# Only ever below an image in the store: with r empty this would be "rm -rf /home".
[[ $r == /var/lib/sandy/images/?*/rootfs && -d $r ]] && rm -rf "$r/home" && ln -s /root/sandy-e2e-home "$r/home" ||
        tap_fail "the image of evilhome has its /home replaced by a symlink (rootfs: \"$r\")"
tap_check "sandy@evilhome (image /home -> /root/sandy-e2e-home on the host) starts" timeout 120 systemctl start sandy@evilhome.service
tap_check "the host's /root was not copied into the persistent home" \
        bash -c '! grep -rqs host-secret /var/lib/sandy/state/evilhome/home'
systemctl stop sandy@evilhome.service
remove_sandbox evilhome
sandyctl reset evilhome
rm -rf /root/sandy-e2e-home

remove_sandbox keep
remove_sandbox home
tap_done
