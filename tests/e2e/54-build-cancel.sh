#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A build whose Setup= process leaves its session (setsid()), clears its parent-death signal, ignores
# SIGTERM and swaps a directory of its tree for a symlink to a victim directory of the test host, in a
# loop. After Job.Cancel, after `systemctl stop sandy-helper` and after SIGKILL of the helper: the victim
# is untouched, no process of the build is left, and its temporary tree is gone (or, while anything of
# it could still run, kept).
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
store=/var/lib/sandy/images
victim=/var/tmp/sandy-victim-54
hcall() { busctl --system --allow-interactive-authorization=no --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager "$@"; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
mkdir -p /etc/sandy

make_victim() {
        rm -rf "$victim"
        mkdir -p "$victim/sub"
        for i in $(seq 1 150); do echo "$i" >"$victim/f$i"; echo "$i" >"$victim/sub/g$i"; done
}
victim_intact() { [ "$(find "$victim" -type f | wc -l)" = 300 ]; }
swapper_gone() { ! pgrep -f sandy-evil-swap >/dev/null; }
swapper_running() { pgrep -f sandy-evil-swap >/dev/null; }
no_tmp() { ! compgen -G "$store/.tmp-*" >/dev/null; }
started() { compgen -G "$store/.tmp-*/rootfs/swap-started" >/dev/null; }
# A call (activating a new helper if needed) is answered, and no temporary tree is left.
helper_clean() { hcall ListImages >/dev/null && no_tmp; }

# The Setup= script: perl from the fixture. PR_SET_PDEATHSIG is prctl option 1, prctl is syscall 157.
# Forty directories named like the victim's files flip between themselves and a symlink to the victim:
# a remover that checks a path and then uses it (lstat(), then opendir() and unlink() by path) lands in
# the victim.
cat >/etc/sandy/evil-swap.pl <<EOF2
#!/usr/bin/perl
use POSIX ();
\$SIG{\$_} = 'IGNORE' for qw(TERM HUP INT PIPE);
syscall(157, 1, 0);
POSIX::setsid();
\$0 = "sandy-evil-swap";
for my \$k (1 .. 40) {
        mkdir "/swap\$k"; mkdir "/swap\$k/sub";
        for my \$i (1 .. 150) {
                open(my \$f, ">", "/swap\$k/f\$i"); close \$f;
                open(\$f, ">", "/swap\$k/sub/g\$i"); close \$f;
        }
}
symlink "$victim", "/victim-link";
open(my \$m, ">", "/swap-started"); close \$m;
for (;;) {
        for my \$k (1 .. 40) {
                rename "/swap\$k", "/real\$k";
                symlink "$victim", "/swap\$k";
        }
        select(undef, undef, undef, 0.0002);
        for my \$k (1 .. 40) {
                unlink "/swap\$k";
                rename "/real\$k", "/swap\$k";
        }
}
EOF2
chmod 755 /etc/sandy/evil-swap.pl
declare_sandbox evil <<EOF2
[Image]
From=oci-archive:$FIXTURE_OCI
Setup=/etc/sandy/evil-swap.pl
[Network]
Mode=none
EOF2

make_victim
tap_check "the victim directory has its 300 files" victim_intact

# ---- Cancel
job=$(hcall BuildImage sb evil false | sed -n 's/^o "\(.*\)"$/\1/p')
tap_check "the build runs its swapping process" wait_for 120 started
tap_check "which is running" swapper_running
tap_check "Job.Cancel is accepted" busctl --system call org.sandy.Helper1 "$job" org.sandy.Helper1.Job Cancel
tap_check "after Cancel, no process of the build is left" wait_for 60 swapper_gone
tap_check "after Cancel, the temporary tree is gone" wait_for 60 no_tmp
tap_check "after Cancel, the victim is untouched" victim_intact

# ---- systemctl stop sandy-helper
make_victim
hcall BuildImage sb evil false >/dev/null
tap_check "a second build runs its swapping process" wait_for 120 started
systemctl stop sandy-helper.service
tap_check "after systemctl stop, no process of the build is left" wait_for 60 swapper_gone
tap_check "after systemctl stop, the victim is untouched" victim_intact
tap_check "the next helper leaves no temporary tree" helper_clean
tap_check "and the victim is still untouched" victim_intact

# ---- SIGKILL of the helper
make_victim
hcall BuildImage sb evil false >/dev/null
tap_check "a third build runs its swapping process" wait_for 120 started
# (MainPID is 0 when the helper is not running: "kill -9 0" would kill this test's whole process group,
# the runner outside the test host included.)
tap_check "SIGKILL of the helper" bash -c 'p=$(systemctl show -P MainPID sandy-helper.service); [ "$p" -gt 1 ] && kill -KILL "$p"'
tap_check "after SIGKILL of the helper, no process of the build is left" wait_for 60 swapper_gone
tap_check "after SIGKILL, the victim is untouched" victim_intact
tap_check "the next helper removes the temporary tree" wait_for 60 helper_clean
tap_check "and the victim is still untouched" victim_intact

# ---- a build timeout kills it the same way
mkdir -p /run/systemd/system/sandy-helper.service.d
printf '[Service]\nEnvironment=SANDY_HELPER_BUILD_TIMEOUT_SEC=8\n' >/run/systemd/system/sandy-helper.service.d/50-e2e-timeout.conf
systemctl daemon-reload
systemctl stop sandy-helper.service
make_victim
out=$(hcall EnsureImage s evil 2>&1)
tap_check "a build that runs too long fails, saying so" grep -q "took longer than 8 s" <<<"$out"
tap_diag "$out"
tap_check "after the timeout, no process of the build is left" wait_for 60 swapper_gone
tap_check "after the timeout, the temporary tree is gone" wait_for 60 no_tmp
tap_check "after the timeout, the victim is untouched" victim_intact
rm -f /run/systemd/system/sandy-helper.service.d/50-e2e-timeout.conf
systemctl daemon-reload

remove_sandbox evil
rm -rf "$victim" /etc/sandy/evil-swap.pl
tap_done
