#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One broken declaration is reported in the journal with file:line and never stops a good one.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

mkdir -p /etc/sandy.d
cat >/etc/sandy.d/broken.sandbox <<EOF2
[Sandbox]
Description=this one is broken
Workspace=relative/path
[Image]
From=oci-archive:$fixture/fixture.oci.tar
EOF2
cursor=$(journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
declare_sandbox good <<EOF2
[Sandbox]
X-Frobnicate=for another tool
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2

journal() { journalctl --after-cursor="$cursor" --no-pager -o cat; }
tap_check "the error names broken.sandbox:3 in the journal" \
        wait_for 10 bash -c "journalctl --after-cursor='$cursor' --no-pager -o cat | grep -F '/etc/sandy.d/broken.sandbox:3: Workspace= must be an absolute path'"
tap_check "an X- key is neither an error nor a warning" journal_since_lacks "$cursor" "/etc/sandy.d/good.sandbox:2:"
tap_check "no units were generated for the broken sandbox" test ! -e /run/systemd/generator/sandy@broken.service.d
tap_check_fails "the broken sandbox does not start" systemctl start sandy@broken.service
tap_check "the good sandbox was generated" test -f /run/systemd/generator/sandy@good.service.d/10-sandy.conf
tap_check "the good sandbox's image is seeded" seed_image good
tap_check "the good sandbox still starts" timeout 120 systemctl start sandy@good.service
tap_check "and runs" machinectl shell good /bin/true
tap_check "sandyctl verify reports the broken file and fails" \
        bash -c 'out=$(sandyctl verify /etc/sandy.d/broken.sandbox 2>&1); rc=$?; echo "$out"; [ $rc = 1 ] && echo "$out" | grep -q "broken.sandbox:3:"'

remove_sandbox good
remove_sandbox broken
tap_done
