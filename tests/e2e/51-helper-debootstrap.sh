#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A debootstrap: image built by sandy-helper for real. The test host has no internet, so the admin setting
# DebootstrapMirror= in /etc/sandy/sandy.conf points at a file:// mirror made here from the Debian
# packages the test cache already holds (DebootstrapNoCheckGPG=yes: a local mirror has no signature).
. "$(dirname "$0")/lib.sh"

debs=$SANDY_TEST_CACHE/debs
command -v apt-ftparchive >/dev/null || { tap_skip "apt-ftparchive (apt-utils) is not installed"; tap_done; exit; }
compgen -G "$debs/*.deb" >/dev/null || { tap_skip "no cached .debs in $debs"; tap_done; exit; }
. /etc/os-release
suite=$VERSION_CODENAME
mirror=/var/tmp/sandy-e2e-mirror
store=/var/lib/sandy/images

# The cache holds packages of several suites; take exactly the versions installed on this host, which is
# a debootstrap of $suite itself, so the mirror is consistent.
make_mirror() {
        local f b p v a
        declare -A inst=()
        while read -r p v; do inst[$p]=$v; done < <(dpkg-query -W -f '${Package} ${Version}\n')
        rm -rf "$mirror"
        mkdir -p "$mirror/pool/main" "$mirror/dists/$suite/main/binary-amd64"
        for f in "$debs"/*.deb; do
                b=${f##*/}
                p=${b%%_*}
                a=${b##*_}
                a=${a%.deb}
                [[ $a == amd64 || $a == all ]] || continue
                v=${b#*_}
                v=${v%_*}
                v=${v//%3a/:}
                [[ -n ${inst[$p]:-} ]] || continue
                [[ $v == "${inst[$p]}" || $v == "${inst[$p]#*:}" ]] || continue
                ln -sf "$f" "$mirror/pool/main/"
        done
        (
                cd "$mirror" || exit 1
                apt-ftparchive packages pool >"dists/$suite/main/binary-amd64/Packages" 2>/dev/null &&
                        apt-ftparchive -o APT::FTPArchive::Release::Suite="$suite" \
                                -o APT::FTPArchive::Release::Codename="$suite" \
                                -o APT::FTPArchive::Release::Components=main \
                                -o APT::FTPArchive::Release::Architectures=amd64 \
                                release "dists/$suite" >"dists/$suite/Release"
        )
}
tap_check "a file:// mirror of $suite from the cached packages" make_mirror

mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
printf '[Image]\nDebootstrapMirror=file://%s\nDebootstrapNoCheckGPG=yes\n' "$mirror" >>/etc/sandy/sandy.conf
declare_sandbox deb <<EOF2
[Sandbox]
Boot=no
Command=/bin/true
[Image]
From=debootstrap:$suite
Packages=iproute2
[Network]
Mode=none
EOF2
id=$(basename "$(dirname "$(image_rootfs deb)")")
out=$(timeout 900 busctl --system --timeout=900 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager \
        EnsureImage s deb 2>&1)
tap_check "EnsureImage builds the debootstrap image" grep -qx "s \"$store/$id/rootfs\"" <<<"$out"
tap_diag "$out"
tap_check "it is $suite" grep -q "VERSION_CODENAME=$suite" "$store/$id/rootfs/etc/os-release"
tap_check "the build host's /etc/hostname is not in the image" bash -c '[ -e /etc/hostname ] && [ ! -e "$1/etc/hostname" ]' _ "$store/$id/rootfs"
tap_check "Packages= were included" test -x "$store/$id/rootfs/usr/bin/ip" -o -x "$store/$id/rootfs/bin/ip"
tap_check "the user exists" grep -q '^agent:' "$store/$id/rootfs/etc/passwd"
tap_check "debootstrap's output is in the journal under SANDBOX=deb" \
        bash -c 'journalctl SANDBOX=deb --no-pager | grep -q "I: Base system installed successfully"'
tap_check "no temporary tree is left" bash -c "! compgen -G '$store/.tmp-$id-*'"

# Boot=yes (the default) with no Packages=: minbase has no init, so the helper adds systemd and D-Bus.
declare_sandbox debboot <<EOF2
[Image]
From=debootstrap:$suite
[Network]
Mode=none
EOF2
idb=$(basename "$(dirname "$(image_rootfs debboot)")")
out=$(timeout 900 busctl --system --timeout=900 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager \
        EnsureImage s debboot 2>&1)
tap_check "a booted debootstrap sandbox builds without Packages=" grep -qx "s \"$store/$idb/rootfs\"" <<<"$out"
tap_diag "$out"
tap_check "its image has systemd as init and D-Bus" bash -c '
        test -x "$1/lib/systemd/systemd" -o -x "$1/usr/lib/systemd/systemd" && test -x "$1/usr/bin/dbus-daemon" &&
        test -L "$1/sbin/init" -o -L "$1/usr/sbin/init"' _ "$store/$idb/rootfs"
tap_check "the Boot=no image got no systemd (only what it asked for)" \
        bash -c '! test -e "$1/usr/bin/dbus-daemon"' _ "$store/$id/rootfs"
remove_sandbox debboot

printf '[Image]\nDebootstrapMirror=ftp://nowhere\n' >/etc/sandy/sandy.conf
declare_sandbox deb2 <<EOF2
[Sandbox]
User=other
[Image]
From=debootstrap:$suite
[Network]
Mode=none
EOF2
out=$(busctl --system call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager EnsureImage s deb2 2>&1)
tap_check "a bad DebootstrapMirror= is reported with its file" grep -q "/etc/sandy/sandy.conf" <<<"$out"
tap_check "and the journal has file:line" \
        bash -c 'journalctl -u sandy-helper --no-pager | grep -q "/etc/sandy/sandy.conf:2: DebootstrapMirror="'

rm -f /etc/sandy/sandy.conf
[ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
busctl --system call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager RemoveImage s "$id" >/dev/null
remove_sandbox deb
remove_sandbox deb2
rm -rf "$mirror"
tap_done
