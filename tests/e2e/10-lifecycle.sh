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
        bash -c '[ "$(systemctl show -P Description sandy@demo.service)" = "Sandbox demo: e2e demo 100%" ]'
tap_check "SourcePath points at the declaration" \
        bash -c '[ "$(systemctl show -P SourcePath sandy@demo.service)" = /etc/sandy.d/demo.sandbox ]'
tap_check "systemd-nspawn@demo.service is an alias of sandy@demo.service" \
        bash -c 'systemctl show -P Names sandy@demo.service | grep -qw systemd-nspawn@demo.service'
tap_check_fails "an undeclared name does not start" systemctl start sandy@nosuch.service
tap_check "the refusal says why, in the journal" \
        bash -c 'journalctl -b -u sandy@nosuch.service --no-pager | grep -q "Sandbox nosuch is not declared"'

tap_check "image is seeded from the fixture" seed_image demo
tap_check "systemctl start sandy@demo succeeds" timeout 120 systemctl start sandy@demo.service
tap_check "sandy@demo is active" systemctl is-active sandy@demo.service
tap_check "settings were installed for nspawn" test -f /run/systemd/nspawn/demo.nspawn
tap_check "machinectl list shows demo" bash -c 'machinectl list --no-legend | grep -q "^demo "'
tap_check "machinectl shell demo /bin/true works" timeout 60 machinectl shell demo /bin/true
tap_check "the container has no network but loopback" \
        bash -c 'out=$(machinectl shell demo /usr/sbin/ip -o link 2>&1); echo "$out"; ! echo "$out" | grep -v " lo:" | grep -q "^[0-9]*:"'
tap_check "the credential arrives inside as a system credential" \
        bash -c "machinectl shell demo /bin/cat /run/credentials/@system/token | grep -qF '$secret'"
tap_check "the secret is not in systemctl show" bash -c "! systemctl show sandy@demo.service | grep -qF '$secret'"
tap_check "writes inside vanish at stop (ephemeral)" \
        machinectl shell demo /bin/sh -c 'echo x > /etc/sandy-ephemeral-probe'
tap_check "machinectl stop demo stops it" timeout 60 machinectl stop demo
tap_check "sandy@demo is inactive after stop" wait_for 30 bash -c '! systemctl is-active -q sandy@demo.service'
tap_check "stop removed the installed settings" bash -c '! test -e /run/systemd/nspawn/demo.nspawn'
rootfs=$(image_rootfs demo)
tap_check "the image was not written to" test ! -e "$rootfs/etc/sandy-ephemeral-probe"
tap_check "machinectl start demo starts it through the alias" timeout 120 machinectl start demo
tap_check "sandy@demo is active after machinectl start" wait_for 60 systemctl is-active sandy@demo.service
tap_check "machinectl stop demo again" timeout 60 machinectl stop demo
wait_for 30 bash -c '! systemctl is-active -q sandy@demo.service'

remove_sandbox demo
rm -f /etc/sandy-e2e-token
tap_check "removing the declaration removes the units" \
        bash -c '! test -e /run/systemd/generator/sandy@demo.service.d/10-sandy.conf'
tap_done
