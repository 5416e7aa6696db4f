#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An image's own programs run as root of the image during a build (Setup=, apt for Packages=). They must
# not see or reach the host: own PID namespace and /proc, a /dev of harmless nodes only, no mount, no
# chroot, a reduced capability bounding set, no_new_privs (53-build-hostile.sh checks the rest). The Setup= script below records what
# it can see inside the built image, and tries to get out.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
store=/var/lib/sandy/images
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1

mkdir -p /etc/sandy
cat >/etc/sandy/probe-setup.sh <<'EOF2'
#!/bin/sh
r=/probe
mkdir -p $r
cat /proc/1/comm >$r/pid1-comm
ls /proc | grep -c '^[0-9]' >$r/nprocs
ls /dev >$r/dev
sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status >$r/capbnd
sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status >$r/capeff
sed -n 's/^CapInh:[[:space:]]*//p' /proc/self/status >$r/capinh
sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status >$r/nnp
hostname >$r/hostname
mkdir -p /mnt
if mount -t tmpfs probe /mnt 2>$r/mount.err; then echo yes; else echo no; fi >$r/mount
if [ -e /dev/vda ] || [ -e /dev/sda ] || [ -e /dev/mem ] || [ -e /dev/kmsg ]; then echo yes; else echo no; fi >$r/disk
# A classic chroot escape: chroot into a subdirectory, then walk up. Needs CAP_SYS_CHROOT.
mkdir -p /esc
if chroot /esc /bin/true 2>/dev/null || /usr/sbin/chroot /esc /bin/true 2>/dev/null; then echo yes; else echo no; fi >$r/chroot
echo "probe done"
EOF2
chmod 755 /etc/sandy/probe-setup.sh
# The script sees the test host's marker only if it escapes to the host's file system.
echo host-only >/run/sandy-host-marker

declare_sandbox probe <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
Setup=/etc/sandy/probe-setup.sh
[Network]
Mode=none
EOF2
tap_check "the build with the probing Setup= script succeeds" \
        timeout 300 busctl --system --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager EnsureImage s probe
rootfs=$(image_rootfs probe)
p=$rootfs/probe
tap_check "the probe ran and recorded its view" test -s "$p/pid1-comm"
tap_diag "pid1=$(cat "$p/pid1-comm" 2>/dev/null) nprocs=$(cat "$p/nprocs" 2>/dev/null) capbnd=$(cat "$p/capbnd" 2>/dev/null) capeff=$(cat "$p/capeff" 2>/dev/null) capinh=$(cat "$p/capinh" 2>/dev/null) dev=$(tr '\n' ' ' <"$p/dev" 2>/dev/null)"
# The checks, as functions (probe record files as arguments).
not_systemd() { ! grep -qx systemd "$1"; }
few_processes() { [ "$(cat "$1")" -le 4 ]; }
host_has_systemd() { [ "$(cat /proc/1/comm)" = systemd ] && [ "$(ls /proc | grep -c "^[0-9]")" -gt 10 ]; }
harmless_dev() {
        local n
        for n in $(cat "$1"); do
                case $n in null|zero|full|random|urandom|tty|console|fd|stdin|stdout|stderr|ptmx|shm|pts) ;;
                *) echo "unexpected /dev/$n"; return 1 ;; esac
        done
}
# bit N of a hex capability mask
cap() { echo $(( (16#$1 >> $2) & 1 )); }
bounding_ok() {
        local b
        b=$(cat "$1")
        [ "$(cap "$b" 21)" = 0 ] && [ "$(cap "$b" 18)" = 0 ] && [ "$(cap "$b" 2)" = 0 ] && [ "$(cap "$b" 0)" = 1 ]
}
effective_ok() {
        local e i
        e=$(cat "$1")
        i=$(cat "$2")
        [ "$(cap "$e" 21)" = 0 ] && [ "$(cap "$e" 18)" = 0 ] && [ "$(cap "$e" 0)" = 1 ] && [ $((16#$i)) = 0 ]
}
marker_untouched() { [ "$(cat /run/sandy-host-marker)" = host-only ] && [ ! -e "$1/run/sandy-host-marker" ]; }
no_build_mounts() { ! grep -q "/var/lib/sandy/images/.tmp" /proc/self/mountinfo; }

tap_check "PID 1 of the build is not the host's systemd" not_systemd "$p/pid1-comm"
tap_check "it sees only its own few processes" few_processes "$p/nprocs"
tap_check "the host's own systemd is running (the check above means something)" host_has_systemd
tap_check "/dev holds only the harmless nodes" harmless_dev "$p/dev"
tap_check "no disk, memory or kernel log device" grep -qx no "$p/disk"
tap_check "mount is refused" grep -qx no "$p/mount"
tap_diag "mount: $(cat "$p/mount" "$p/mount.err" 2>&1)"
tap_check "chroot is refused" grep -qx no "$p/chroot"
tap_check "root outside the build may chroot (the check above means something)" chroot "$rootfs" /bin/true
tap_check "the bounding set lacks CAP_SYS_ADMIN (21), CAP_SYS_CHROOT (18) and CAP_DAC_READ_SEARCH (2)" \
        bounding_ok "$p/capbnd"
tap_check "nor does the effective set, and the inheritable set is empty" effective_ok "$p/capeff" "$p/capinh"
tap_check "no_new_privs is set" grep -qx 1 "$p/nnp"
tap_check "its own host name" grep -qx sandy-build "$p/hostname"
tap_check "the test host's marker file is untouched and not in the image" marker_untouched "$rootfs"
tap_check "no build mounts are left on the host" no_build_mounts

rm -f /run/sandy-host-marker
remove_sandbox probe
tap_done
