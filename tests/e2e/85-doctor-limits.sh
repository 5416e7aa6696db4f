#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandyctl doctor reports kernel limits too low for the declared sandboxes (issue 17), reading /proc/sys
# only. On 2698d7b it said nothing about them: 16 booted sandboxes exhausted fs.inotify.max_user_instances
# (128 by default) and the 17th failed with "Too many open files". Nothing here writes a sysctl: the test
# declares enough booted sandboxes (never started) for the current value to be too low.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
have=$(cat /proc/sys/fs/inotify/max_user_instances)
# 8 per booted sandbox and 32 for the host: one more than the current value allows.
n=$(((have - 32) / 8 + 1))

# Positive control first: with none of ours declared, the row is there and ok.
tap_check "control: doctor reports fs.inotify.max_user_instances, ok with no booted sandbox of the test" \
        doctor_limit_is "inotify instances" ok "fs.inotify.max_user_instances=$have"
if [ "$n" -gt 200 ]; then
        tap_skip "fs.inotify.max_user_instances=$have here: $n declarations would be needed to go past it"
        tap_done
        exit
fi
for i in $(seq "$n"); do fixture_declaration >"/etc/sandy.d/lim$i.sandbox"; done
systemctl daemon-reload
tap_check "with $n booted sandboxes declared, doctor warns that fs.inotify.max_user_instances=$have is too low" \
        doctor_limit_is "inotify instances" warning "too low: starts will fail; about $((n * 8 + 32)) for $n declared booted sandboxes"
tap_check "... and says how to raise it" doctor_limit_fix_has "inotify instances" 60-sandy.conf
for i in $(seq "$n"); do rm -f "/etc/sandy.d/lim$i.sandbox"; done
systemctl daemon-reload
tap_check "the other limits are reported too" doctor_limit_is "user namespace count" ok user.max_user_namespaces=
tap_done
