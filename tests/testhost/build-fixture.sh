#!/bin/bash
# Build (or reuse) the sandbox base-image fixture used by the e2e tests:
#
#   $SANDY_TEST_CACHE/fixture-<hash>/rootfs          bookworm minbase + systemd, dbus, curl, iproute2
#   $SANDY_TEST_CACHE/fixture-<hash>/fixture.oci.tar the same tree as an OCI image archive
#   $SANDY_TEST_CACHE/fixture -> fixture-<hash>      stable name for tests
#
#   build-fixture.sh [--quiet]     prints the fixture directory on stdout
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

quiet=0
case ${1:-} in
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    "") ;;
    *) die "unknown argument: $1" ;;
esac

suite=bookworm
pkgs=(systemd systemd-sysv dbus curl iproute2)

need_root
command -v debootstrap >/dev/null || die "debootstrap is not installed"
command -v python3 >/dev/null || die "python3 is not installed"

hash=$({ cat "$0" "$here/common.sh" "$here/mkoci.py"; printf '%s\n' "$suite" "${pkgs[@]}"; } | short_hash)
final=$SANDY_TEST_CACHE/fixture-$hash

link_current() {
    # Atomic symlink swap so tests never see a dangling "fixture".
    ln -sfn "fixture-$hash" "$SANDY_TEST_CACHE/.fixture.new.$$"
    mv -T "$SANDY_TEST_CACHE/.fixture.new.$$" "$SANDY_TEST_CACHE/fixture"
}

build() {
    if [[ -f $final/fixture.oci.tar ]]; then return 0; fi
    debootstrap_tmp "fixture-$hash" "$suite" "building fixture" "${pkgs[@]}"
    rm -f "$tmp/debootstrap.log"
    rootfs_common_cleanup "$tmp/rootfs"
    # debootstrap leaves device nodes in /dev; a container gets its own /dev.
    find "$tmp/rootfs/dev" -mindepth 1 -delete
    echo sandbox >"$tmp/rootfs/etc/hostname"
    python3 "$here/mkoci.py" "$tmp/rootfs" "$tmp/fixture.oci.tar" >"$tmp/oci.json"
    printf '%s\n' "$suite" "${pkgs[@]}" >"$tmp/recipe"
    mv -T "$tmp" "$final"
    trap - EXIT
    log "built $final"
    prune_old "$SANDY_TEST_CACHE/fixture-" "$final"
}

mkdir -p "$SANDY_TEST_CACHE"
with_lock "$SANDY_TEST_CACHE/.lock-fixture-$hash" build
[[ -f $final/fixture.oci.tar ]] || die "build did not produce $final"
link_current
echo "$final"
