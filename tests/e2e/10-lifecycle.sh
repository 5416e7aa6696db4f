#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A declared sandbox becomes units at daemon-reload, starts under systemd, and machinectl manages it.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

secret=sandy-e2e-secret-$RANDOM$RANDOM
install -m 0600 /dev/null /etc/sandy-e2e-token
echo "$secret" >/etc/sandy-e2e-token
declare_sandbox demo <<EOF2
[Sandbox]
Description=e2e demo 100%
Credential=token:/etc/sandy-e2e-token
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2

tap_check "generator wrote the instance drop-in" test -f /run/systemd/generator/sandy@demo.service.d/10-sandy.conf
tap_check "systemd loaded sandy@demo with the generated description" \
        unit_property_is sandy@demo.service Description "Sandbox demo: e2e demo 100%"
tap_check "SourcePath points at the declaration" \
        unit_property_is sandy@demo.service SourcePath /etc/sandy.d/demo.sandbox
tap_check "systemd-nspawn@demo.service is an alias of sandy@demo.service" \
        unit_has_name sandy@demo.service systemd-nspawn@demo.service
tap_check_fails "an undeclared name does not start" systemctl start sandy@nosuch.service
tap_check "the refusal says why, in the journal" \
        journal_has sandy@nosuch.service "Sandbox nosuch is not declared"

tap_check "image is seeded from the fixture" seed_image demo
tap_check "systemctl start sandy@demo succeeds" timeout 120 systemctl start sandy@demo.service
tap_check "sandy@demo is active" systemctl is-active sandy@demo.service
tap_check "settings were installed for nspawn" test -f /run/systemd/nspawn/demo.nspawn
tap_check "machinectl list shows demo" machine_listed demo
tap_check "machinectl shell demo /bin/true works" timeout 60 machinectl shell demo /bin/true
tap_check "the container has no network but loopback" machine_only_loopback demo
tap_check "the credential arrives inside as a system credential" \
        machine_file_has demo /run/credentials/@system/token "$secret"
tap_check "the secret is not in systemctl show" unit_show_lacks sandy@demo.service "$secret"
tap_check "writes inside vanish at stop (ephemeral)" \
        machinectl shell demo /bin/sh -c 'echo x > /etc/sandy-ephemeral-probe'
tap_check "machinectl stop demo stops it" timeout 60 machinectl stop demo
tap_check "sandy@demo is inactive after stop" wait_for 30 unit_inactive sandy@demo.service
tap_check "stop removed the installed settings" absent /run/systemd/nspawn/demo.nspawn
rootfs=$(image_rootfs demo)
tap_check "the image was not written to" test ! -e "$rootfs/etc/sandy-ephemeral-probe"
tap_check "machinectl start demo starts it through the alias" timeout 120 machinectl start demo
tap_check "sandy@demo is active after machinectl start" wait_for 60 systemctl is-active sandy@demo.service
tap_check "machinectl stop demo again" timeout 60 machinectl stop demo
wait_for 30 unit_inactive sandy@demo.service

remove_sandbox demo
rm -f /etc/sandy-e2e-token
tap_check "removing the declaration removes the units" \
        absent /run/systemd/generator/sandy@demo.service.d/10-sandy.conf
tap_done
