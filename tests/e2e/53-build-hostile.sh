#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A hostile image, built the ways a sandbox can be built: its useradd, a package's postinst (Packages=)
# and the Setup= script each run a probe that records its UID in the initial user namespace, its user
# and network namespaces, whether /proc/sys/kernel/core_pattern is writable (access(2) only) and what it
# reaches (a listener on the test host's 127.0.0.1 and 192.0.2.2, the LAN, CGNAT and metadata canaries;
# the build downloads, so it has a lenient sandbox network: the internet canary and DNS work).
# The OCI unpacker's extraction child is watched from outside while it works. None of them may have any
# privilege of the test host; the same probe run by the test host's root shows what it can see.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
store=/var/lib/sandy/images
hcall() { busctl --system --allow-interactive-authorization=no --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager "$@"; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
work=/var/tmp/sandy-e2e-53
rm -rf "$work" && mkdir -p "$work" /etc/sandy

tap_check "a listener on the test host's addresses" probe_listener_start

# ---- the positive control: the probe as the test host's root, with a /proc of its own
unshare --pid --fork --mount --mount-proc "$HOST_PROBE" host "$work" >/dev/null 2>&1
tap_check "the probe, run by the test host's root, sees a writable core_pattern and reaches the listener and the LAN" \
        probe_unconfined "$work/host"
tap_diag "host: $(tr '\n' ' ' <"$work/host/reach" 2>/dev/null)"

tap_check "a hostile image (oci-archive) from the fixture" build_hostile_image "$work/hostile.oci.tar" oci-archive
printf '#!/bin/sh\n/usr/local/sbin/sandy-probe setup\n' >/etc/sandy/hostile-setup.sh
chmod 755 /etc/sandy/hostile-setup.sh

# hostile_build NAME FROM: declare NAME, build it while watching the unpacker; the probes' records stay
# in $work/NAME (copied out of the image) and $work/NAME.unpack.
hostile_build() {
        local name=$1 from=$2 watcher out rootfs
        declare_sandbox "$name" <<EOF2
[Image]
From=$from
Packages=sandy-probe
Setup=/etc/sandy/hostile-setup.sh
[Network]
Mode=none
EOF2
        unpack_watch "$work/$name.unpack" &
        watcher=$!
        out=$(hcall EnsureImage s "$name" 2>&1)
        kill "$watcher" 2>/dev/null
        wait "$watcher" 2>/dev/null
        echo "$out"
        rootfs=$(sed -n 's/^s "\(.*\)"$/\1/p' <<<"$out")
        [ -n "$rootfs" ] && cp -a "$rootfs/probe" "$work/$name" 2>/dev/null
        [ -n "$rootfs" ] && grep -q '^agent:' "$rootfs/etc/passwd" && echo "user agent is there"
        true
}

# probes_confined NAME [unpack]: the postinst's and the Setup= script's records (and the unpacker's).
probes_confined() {
        probe_confined "$work/$1/postinst" && probe_confined "$work/$1/setup" &&
                { [ -z "${2:-}" ] || probe_unpacker_confined "$work/$1.unpack"; }
}
# The internet canary answered, and the build's resolver asked the upstream one (whose answer, a TEST-NET
# address, dnsmasq's rebind protection then drops).
lenient_network() { grep -qx "203.0.113.10:80 yes" "$1/reach" && tail -n +"$((dns_mark + 1))" "$DNS_LOG" | grep -q allowed.test; }
nothing_left() {
        ! compgen -G "/sys/fs/cgroup/system.slice/sandy-helper.service/build-*" &&
                ! compgen -G "$store/.tmp-*" && [ -z "$(find /var/lib/sandy/uidmap -lname '.build-*' 2>/dev/null)" ]
}

dns_mark=$(wc -l <"$DNS_LOG")
out=$(hostile_build hostile "oci-archive:$work/hostile.oci.tar")
tap_diag "$out"
tap_check "the hostile image builds (Packages= from its own repository, Setup=)" grep -q '^s "' <<<"$out"
tap_check "the image's useradd never ran" test ! -e "$work/hostile/useradd"
tap_diag "useradd probe: $(cat "$work/hostile/useradd/uid_map" "$work/hostile/useradd/reach" 2>/dev/null | tr '\n' ' ')"
tap_check "and the user was created all the same (its files written)" grep -q "user agent is there" <<<"$out"
tap_check "the postinst ran confined" probe_confined "$work/hostile/postinst"
tap_diag "postinst: $(cat "$work/hostile/postinst/uid_map" "$work/hostile/postinst/reach" 2>/dev/null | tr '\n' ' ')"
tap_check "the build downloads (Packages=): its lenient network reaches the internet canary and resolves names" \
        lenient_network "$work/hostile/postinst"
tap_check "the Setup= script ran confined" probe_confined "$work/hostile/setup"
tap_diag "setup: $(cat "$work/hostile/setup/uid_map" "$work/hostile/setup/reach" 2>/dev/null | tr '\n' ' ')"
tap_check "the unpacker's extraction child ran confined" probe_unpacker_confined "$work/hostile.unpack"

# ---- the same image as an OCI layout directory and as docker-archive: the same confinement
tap_check "the hostile image as an oci: layout" build_hostile_image "$work/hostile-layout" oci
out=$(hostile_build hostile2 "oci:$work/hostile-layout")
tap_check "an oci: build with Packages= and Setup= succeeds" grep -q '^s "' <<<"$out"
tap_diag "$out"
tap_check "its postinst and Setup= ran confined" probes_confined hostile2
tap_check "the hostile image as docker-archive" build_hostile_image "$work/hostile.docker.tar" docker-archive
out=$(hostile_build hostile3 "docker-archive:$work/hostile.docker.tar")
tap_check "a docker-archive build with Packages= and Setup= succeeds" grep -q '^s "' <<<"$out"
tap_diag "$out"
tap_check "its postinst and Setup= ran confined, and so did its unpacker" probes_confined hostile3 unpack

tap_check "no build cgroup, temporary tree or UID range is left" nothing_left

probe_listener_stop
for n in hostile hostile2 hostile3; do remove_sandbox $n; done
hcall Prune >/dev/null 2>&1
rm -rf "$work" /etc/sandy/hostile-setup.sh
tap_done
