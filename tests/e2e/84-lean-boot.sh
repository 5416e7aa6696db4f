#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The lean boot (issue 17): a booted sandbox boots sandy-lean.target by default (journald, the bus,
# logind, user sessions; no getty, timers, password agents, network configuration), from unit files the
# host owns and binds read-only; BootTarget=default boots the image's own default.target. On 2698d7b every
# booted sandbox booted the image's graphical.target, getty and timers included.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_fixture_sandbox lean1
declare_fixture_sandbox stock1 BootTarget=default
# sandy-nouserns execs the init: the lean boot must reach it through that too.
declare_fixture_sandbox nouserns1 NestedUserNamespaces=no
tap_check "lean1, stock1 and nouserns1 start with one systemctl start" \
        timeout 300 systemctl start sandy@lean1.service sandy@stock1.service sandy@nouserns1.service

tap_check "lean1 boots sandy-lean.target, its default target" booted_default_is lean1 sandy-lean.target
tap_check "nouserns1 (NestedUserNamespaces=no) boots sandy-lean.target too" booted_default_is nouserns1 sandy-lean.target
tap_check "stock1 (BootTarget=default) boots the image's graphical.target" booted_default_is stock1 graphical.target
for u in systemd-journald.service dbus.service systemd-logind.service systemd-user-sessions.service; do
        tap_check "lean1 runs $u" in_booted lean1 /bin/systemctl is-active --quiet $u
done
tap_check "machinectl shell into lean1 works" machinectl --quiet shell agent@lean1 /bin/true
tap_check "sandyctl exec into lean1 works" sandyctl exec lean1 -- true
# Positive controls: in the stock boot the probes see the timers and the login prompt.
tap_check "control: stock1 has timers.target active" in_booted stock1 /bin/systemctl is-active --quiet timers.target
tap_check "control: stock1 has getty.target active" in_booted stock1 /bin/systemctl is-active --quiet getty.target
for u in timers.target getty.target console-getty.service systemd-ask-password-wall.path apt-daily.timer; do
        tap_check_fails "lean1 does not run $u" in_booted lean1 /bin/systemctl is-active --quiet $u
done
tap_check "lean1's timers.target is masked (cannot be started inside)" \
        in_booted lean1 /bin/sh -c '[ "$(systemctl is-enabled timers.target)" = masked-runtime ] || [ "$(systemctl is-enabled timers.target)" = masked ]'

# The unit files are the host's: root's, read-only inside, the same at every boot.
tap_check "the lean boot's directory on the host is root's and writable by no one else" \
        host_dir_is_roots /usr/libexec/sandy/boot
tap_check "control: root inside lean1 can write /etc/systemd/system" \
        in_booted lean1 /bin/touch /etc/systemd/system/sandy-test-probe
tap_check_fails "root inside lean1 cannot write sandy's unit directory" \
        in_booted lean1 /bin/touch /run/sandy/boot/units/sandy-test-probe
tap_check_fails "... nor replace default.target there" \
        in_booted lean1 /bin/ln -sfn /usr/lib/systemd/system/graphical.target /run/sandy/boot/units/default.target
tap_check "lean1 restarts" timeout 300 systemctl restart sandy@lean1.service
tap_check "... and boots sandy-lean.target again, from the same files" booted_default_is lean1 sandy-lean.target

stop_and_remove lean1 stock1 nouserns1
tap_done
