#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A declared sandbox becomes units at daemon-reload, starts under systemd, and machinectl manages it.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { skip_test "no fixture image under /var/cache/sandy-tests"; finish; exit; }

declare_sandbox demo <<EOF2
[Sandbox]
Description=e2e demo 100%
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2

check "generator wrote the instance drop-in" test -f /run/systemd/generator/sandy@demo.service.d/10-sandy.conf
check "systemd loaded sandy@demo with the generated description" \
        bash -c '[ "$(systemctl show -P Description sandy@demo.service)" = "Sandbox demo: e2e demo 100%" ]'
check "SourcePath points at the declaration" \
        bash -c '[ "$(systemctl show -P SourcePath sandy@demo.service)" = /etc/sandy.d/demo.sandbox ]'
check "systemd-nspawn@demo.service is an alias of sandy@demo.service" \
        bash -c 'systemctl show -P Names sandy@demo.service | grep -qw systemd-nspawn@demo.service'
check_fails "an undeclared name does not start" systemctl start sandy@nosuch.service
check "the refusal says why, in the journal" \
        bash -c 'journalctl -b -u sandy@nosuch.service --no-pager | grep -q "Sandbox nosuch is not declared"'

check "image is seeded from the fixture" seed_image demo
check "systemctl start sandy@demo succeeds" timeout 120 systemctl start sandy@demo.service
check "sandy@demo is active" systemctl is-active sandy@demo.service
check "settings were installed for nspawn" test -f /run/systemd/nspawn/demo.nspawn
check "machinectl list shows demo" bash -c 'machinectl list --no-legend | grep -q "^demo "'
check "machinectl shell demo /bin/true works" timeout 60 machinectl shell demo /bin/true
check "the container has no network but loopback" \
        bash -c 'out=$(machinectl shell demo /usr/sbin/ip -o link 2>&1); echo "$out"; ! echo "$out" | grep -v " lo:" | grep -q "^[0-9]*:"'
check "writes inside vanish at stop (ephemeral)" \
        machinectl shell demo /bin/sh -c 'echo x > /etc/sandy-ephemeral-probe'
check "machinectl stop demo stops it" timeout 60 machinectl stop demo
check "sandy@demo is inactive after stop" wait_for 30 bash -c '! systemctl is-active -q sandy@demo.service'
check "stop removed the installed settings" bash -c '! test -e /run/systemd/nspawn/demo.nspawn'
rootfs=$(image_rootfs demo)
check "the image was not written to" test ! -e "$rootfs/etc/sandy-ephemeral-probe"
check "machinectl start demo starts it through the alias" timeout 120 machinectl start demo
check "sandy@demo is active after machinectl start" wait_for 60 systemctl is-active sandy@demo.service
check "machinectl poweroff/stop again" timeout 60 machinectl stop demo
wait_for 30 bash -c '! systemctl is-active -q sandy@demo.service'

remove_sandbox demo
check "removing the declaration removes the units" \
        bash -c '! test -e /run/systemd/generator/sandy@demo.service.d/10-sandy.conf'
finish
