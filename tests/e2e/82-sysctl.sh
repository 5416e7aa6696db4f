#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandy's sysctl.d drop-in (issue 17): installed where systemd-sysctl reads it, every key known to the
# kernel, no value below what the kernel has now. Read-only: the test host cannot write /proc/sys (checked
# below), and this machine's own settings must never change; the values themselves are never applied here.
. "$(dirname "$0")/lib.sh"

f=/usr/lib/sysctl.d/60-sandy.conf
tap_check "the test host cannot write /proc/sys (the drop-in stays inert here)" \
        test ! -w /proc/sys/fs/inotify/max_user_instances
tap_check "$f is installed" test -s $f
tap_check "systemd reads it among the sysctl.d files" sysctl_d_reads $f
tap_check "it sets fs.inotify.max_user_instances" file_matches $f '^fs\.inotify\.max_user_instances = [0-9]+$'
tap_check "it sets fs.inotify.max_user_watches" file_matches $f '^fs\.inotify\.max_user_watches = [0-9]+$'
tap_check "every key exists in this kernel and no value is lower than now" sysctl_not_lower $f
low=$(mktemp)
printf 'fs.inotify.max_user_instances = 1\n' >"$low"
tap_check_fails "control: a value below the kernel's is caught" sysctl_not_lower "$low"
printf 'fs.inotify.no_such_key = 1\n' >"$low"
tap_check_fails "control: a key the kernel lacks is caught" sysctl_not_lower "$low"
rm -f "$low"
tap_done
