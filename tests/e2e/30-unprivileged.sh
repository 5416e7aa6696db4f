#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A user outside the sandy group can read declarations but start, stop or enter nothing: without
# polkit rules for the group, every sandbox action needs an administrator.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_sandbox priv <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_image priv

tap_check "bob is not in group sandy" bash -c '! id -nG bob | grep -qw sandy'
tap_check "bob can verify the declaration" as_user bob sandyctl verify priv
tap_check "bob can read the effective declaration" as_user bob sandyctl cat priv
tap_check_fails "bob cannot start sandy@priv" as_user bob systemctl --no-ask-password start sandy@priv.service
tap_check "and it is not running" bash -c '! systemctl is-active -q sandy@priv.service'
tap_check "root starts it" timeout 120 systemctl start sandy@priv.service
tap_check_fails "bob cannot open a shell in it" as_user bob machinectl --no-ask-password shell priv /bin/true
tap_check_fails "bob cannot stop it" as_user bob systemctl --no-ask-password stop sandy@priv.service
tap_check "it is still running" systemctl is-active sandy@priv.service
tap_check_fails "bob cannot run sandy-prepare's cleanup as himself" \
        as_user bob /usr/libexec/sandy/sandy-prepare --cleanup priv
tap_check "the installed settings are still there" test -f /run/systemd/nspawn/priv.nspawn

remove_sandbox priv
tap_done
