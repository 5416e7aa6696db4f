#!/bin/bash
# Build (or reuse) the cached Debian rootfs that the test host boots.
#
#   build-rootfs.sh [--suite bookworm|trixie] [--quiet]
#
# Prints the rootfs path on stdout. The cache key is a hash of this script
# (which holds the package list and the configuration), common.sh and the
# suite, so any change to the recipe builds a new rootfs. Builds go to a temp dir next to the
# cache and are renamed into place only when complete.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

suite=bookworm
quiet=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --suite) suite=$2; shift 2 ;;
        --suite=*) suite=${1#*=}; shift ;;
        --quiet) quiet=1; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

# Runtime libraries are the ones our binaries link: libsystemd0, libnftables1,
# libcjson1, libarchive13, libcap2, libmnl0, libssl3 (t64-renamed on trixie).
# skopeo needs the virtual container-network-stack, which debootstrap cannot
# resolve: containernetworking-plugins provides it.
common_pkgs=(
    systemd systemd-sysv dbus libpam-systemd polkitd pkexec systemd-container
    nftables dnsmasq-base iproute2 curl python3 jq
    libsystemd0 libnftables1 libcjson1 libcap2 libmnl0
    skopeo containernetworking-plugins debootstrap sudo util-linux procps iputils-ping netcat-openbsd
    ca-certificates less
    # issue 13: the protected-path tests run the host owner's git in the workspace.
    git
    # contrib/ansible is tested with Debian's ansible-core (python3-cffi-backend provides the virtual
    # python3-cffi-backend-api-* it needs, which debootstrap cannot resolve); apt-ftparchive makes local mirrors for
    # offline debootstrap and Packages= builds.
    ansible-core python3-cffi-backend apt-utils
)
case $suite in
    bookworm) suite_pkgs=(libarchive13 libssl3) ;;
    trixie) suite_pkgs=(libarchive13t64 libssl3t64) ;;
    *) die "unsupported suite '$suite' (bookworm or trixie)" ;;
esac
pkgs=("${common_pkgs[@]}" "${suite_pkgs[@]}")

need_root
command -v debootstrap >/dev/null || die "debootstrap is not installed"

hash=$({ cat "$0" "$here/common.sh"; printf '%s\n' "$suite" "${pkgs[@]}"; } | short_hash)
final=$SANDY_TEST_CACHE/testhost-$suite-$hash
if [[ -d $final/rootfs ]]; then
    echo "$final/rootfs"
    exit 0
fi

configure_rootfs() {
    local root=$1
    # Root logs in without a password; the test host is never reachable from outside.
    chroot "$root" passwd -d root >/dev/null
    echo testhost >"$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 testhost\n::1 localhost ip6-localhost\n' >"$root/etc/hosts"
    echo 'nameserver 203.0.113.53' >"$root/etc/resolv.conf"
    # Unprivileged test users with fixed uids (group sandy comes from the project's sysusers.d).
    chroot "$root" useradd -m -u 1001 -U -s /bin/bash alice
    chroot "$root" useradd -m -u 1002 -U -s /bin/bash bob

    # Units that are useless, noisy or failing in a container without network
    # (modules-load runs because --capability=all keeps CAP_SYS_MODULE, then fails).
    local u
    for u in console-getty.service getty@tty1.service serial-getty@console.service \
             apt-daily.timer apt-daily-upgrade.timer systemd-timesyncd.service \
             systemd-networkd-wait-online.service e2scrub_all.timer e2scrub_reap.service \
             fstrim.timer systemd-modules-load.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$u"
    done
    # Keep the journal around even if /var/log/journal is missing (minbase), so it can be copied out.
    mkdir -p "$root/etc/systemd/journald.conf.d" "$root/var/log/journal"
    printf '[Journal]\nStorage=persistent\nForwardToConsole=no\n' \
        >"$root/etc/systemd/journald.conf.d/testhost.conf"

    # No network configuration inside: testhost.sh configures the test host's
    # network namespace from outside before boot (uplink0, addresses, routes).
    # networkd stays disabled (Debian's default) so it never touches sandy's links.

    rootfs_common_cleanup "$root"
}

build() {
    # Re-check under the lock: a concurrent builder may have finished meanwhile.
    if [[ -d $final/rootfs ]]; then return 0; fi
    debootstrap_tmp "testhost-$suite-$hash" "$suite" "building $suite test-host rootfs (this takes a few minutes)" "${pkgs[@]}"
    configure_rootfs "$tmp/rootfs"
    rm -f "$tmp/debootstrap.log"
    printf '%s\n' "$suite" "${pkgs[@]}" >"$tmp/recipe"
    mv -T "$tmp" "$final"
    trap - EXIT
    log "built $final"
    prune_old "$SANDY_TEST_CACHE/testhost-$suite-" "$final"
}

mkdir -p "$SANDY_TEST_CACHE"
with_lock "$SANDY_TEST_CACHE/.lock-testhost-$suite-$hash" build
[[ -d $final/rootfs ]] || die "build did not produce $final/rootfs"
echo "$final/rootfs"
