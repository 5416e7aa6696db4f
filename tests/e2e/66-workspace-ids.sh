#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: the workspace's idmap names the owner's UID and primary GID and nothing else, so nothing made
# inside can belong to, or be set-group-ID to, another host group (disk, root, ...).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ws=/srv/e2e-wsids
make_workspace "$ws"
as_user alice sh -c "cp /usr/bin/id $ws/probe-id && echo data > $ws/plain && echo data > $ws/mine"
cp /usr/bin/id "$ws/other-group" && chown alice:users "$ws/other-group"
fixture_declaration "Workspace=$ws" | declare_sandbox wsids
seed_user_image wsids
tap_check "sandy@wsids starts" timeout 120 systemctl start sandy@wsids.service
disk=$(getent group disk | cut -d: -f3)
W=/home/agent/workspace

# The attack: root inside makes a copy of a binary setgid disk (or group root) for users on the host.
# machinectl shell exits 0 whatever the command did: judged by its messages and by the host's view.
tap_check "control: root inside can chown a workspace file to the agent (and gets no error)" \
        output_lacks "$(as_root_in wsids /bin/chown 1000:1000 $W/mine 2>&1)" 'Value too large|Invalid argument|not permitted'
tap_check "root inside cannot chgrp a workspace file to root" \
        output_matches "$(as_root_in wsids /bin/chgrp 0 $W/probe-id 2>&1)" 'Value too large|Invalid argument|not permitted'
tap_check "root inside cannot chgrp a workspace file to disk" \
        output_matches "$(as_root_in wsids /bin/chgrp disk $W/probe-id 2>&1)" 'Value too large|Invalid argument|not permitted'
as_root_in wsids /bin/chmod g+s $W/probe-id >/dev/null 2>&1
tap_check "on the host the file is still alice:alice" owner_is "$ws/probe-id" alice:alice
# (chgrp disk last: on a sandy that lets it through, the file is setgid disk now)
tap_check "bob running it gets no group disk" output_lacks "$(as_user bob "$ws/probe-id" -G | tr ' ' '\n')" "^$disk\$"
tap_check "nor group root (its effective group is not 0 or disk)" output_lacks "$(as_user bob "$ws/probe-id" -g)" "^(0|$disk)\$"
tap_check "control: the agent may chgrp to its own group" as_agent wsids chgrp 1000 plain
tap_check_fails "the agent cannot chgrp to a group it has inside either (root)" as_agent wsids chgrp 0 plain
tap_check "a file of another host group shows as unmapped (nogroup) inside" shows 65534 as_agent wsids stat -c %g other-group
tap_check "alice's own files are the agent's inside" shows 1000:1000 as_agent wsids stat -c %u:%g plain
tap_check "what the agent creates is alice:alice on the host" as_agent wsids sh -c 'echo x > made'
tap_check "(host view)" owner_is "$ws/made" alice:alice
# The one host ID the agent writes as is the owner's: a set-user-ID copy it leaves behind would run as alice
# for anybody. The mount inside is nosuid; at stop the bits are removed and reported.
tap_check "the agent makes a set-user-ID copy of a program" as_agent wsids sh -c 'cp probe-id suid-id && chmod 4755 suid-id'
tap_check "control: during the session it is set-user-ID on the host" shows 4755 stat -c %a "$ws/suid-id"
cursor=$(journal_cursor)
systemctl stop sandy@wsids.service
tap_check "after the stop the set-user-ID bit is gone" shows 755 stat -c %a "$ws/suid-id"
tap_check "bob running it stays bob" shows "$(id -u bob)" as_user bob "$ws/suid-id" -u
tap_check "the stop says so" journal_since_has "$cursor" "suid-id was set-user-ID or set-group-ID"

# Positive control: the same planting done by root on the host does give bob group disk (and alice's uid,
# when set-user-ID).
chmod 4755 "$ws/suid-id"
tap_check "control: a set-user-ID copy made on the host runs as alice for bob" shows "$(id -u alice)" as_user bob "$ws/suid-id" -u
rm -f "$ws/suid-id"
chgrp disk "$ws/probe-id" && chmod g+s "$ws/probe-id"
tap_check "control: a setgid-disk copy made on the host gives bob group disk" \
        output_matches "$(as_user bob "$ws/probe-id" -G | tr ' ' '\n')" "^$disk\$"
rm -f "$ws/probe-id"

remove_sandbox wsids
drop_workspace "$ws"
tap_done
