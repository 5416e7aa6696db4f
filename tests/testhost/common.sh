# shellcheck shell=bash
# Shared helpers for the test-host scripts. Sourced, never executed.

SANDY_TEST_CACHE=${SANDY_TEST_CACHE:-/var/cache/sandy-tests}
SANDY_TEST_MIRROR=${SANDY_TEST_MIRROR:-http://deb.debian.org/debian}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root"; }

# sha256 of stdin, first 16 hex chars: short enough for paths, long enough to never collide here.
short_hash() { sha256sum | cut -c1-16; }

# Run "$@" while holding an exclusive lock on $1 (a lock file), so that two
# concurrent builds of one recipe serialise and the second one reuses the first.
with_lock() {
    local lockfile=$1; shift
    mkdir -p "${lockfile%/*}"
    exec {lockfd}>"$lockfile"
    flock "$lockfd"
    "$@"
    local rc=$?
    exec {lockfd}>&-
    return "$rc"
}

# Remove temp build dirs left by interrupted builds (their builder PID is in the name).
clean_stale_tmp() {
    local d pid
    for d in "$SANDY_TEST_CACHE"/.tmp-*; do
        [[ -d $d ]] || continue
        pid=${d##*.}
        if [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
            log "removing stale temp dir $d"
            rm -rf --one-file-system "$d"
        fi
    done
}

# Common rootfs post-processing for everything debootstrap'ed here.
rootfs_common_cleanup() {
    local root=$1
    # An image must not carry a fixed machine id: systemd makes a transient one at boot.
    : >"$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
    rm -rf "$root/var/cache/apt/"*.bin
}

# Keep debootstrap's own log (it is inside the temp dir that is about to go) and fail.
debootstrap_failed() {
    local tmp=$1 keep=$SANDY_TEST_CACHE/debootstrap-failed.log
    cat "$tmp/debootstrap.log" "$tmp/rootfs/debootstrap/debootstrap.log" >"$keep" 2>/dev/null || true
    tail -n 40 "$keep" >&2
    die "debootstrap failed; full log in $keep"
}

# prune_old PREFIX KEEP: delete cached builds PREFIX* other than KEEP (older
# recipes), unless something is still mounted from them (a running test host).
prune_old() {
    local prefix=$1 keep=$2 d
    for d in "$prefix"*; do
        [[ -d $d && $d != "$keep" ]] || continue
        if grep -qF "$d/" /proc/self/mountinfo; then continue; fi
        log "pruning old build $d"
        rm -rf --one-file-system "$d"
    done
}

# debootstrap_tmp NAME SUITE MESSAGE PKG...: a minbase debootstrap of SUITE with PKGs into
# $tmp/rootfs, $tmp being $SANDY_TEST_CACHE/.tmp-NAME.PID; removed on exit unless the caller has
# renamed the result into place. Sets the global tmp. Honours $quiet (debootstrap log to a file).
debootstrap_tmp() {
    local name=$1 suite=$2 msg=$3
    shift 3
    clean_stale_tmp
    tmp=$SANDY_TEST_CACHE/.tmp-$name.$$
    rm -rf "$tmp"
    mkdir -p "$tmp" "$SANDY_TEST_CACHE/debs"
    # shellcheck disable=SC2064  # expand $tmp now
    trap "rm -rf --one-file-system '$tmp'" EXIT
    trap 'exit 130' INT TERM
    log "$msg in $tmp"
    local out=/dev/stderr
    [[ ${quiet:-0} -eq 1 ]] && out=$tmp/debootstrap.log
    local IFS=,
    debootstrap --variant=minbase --components=main --include="$*" \
        --cache-dir="$SANDY_TEST_CACHE/debs" \
        "$suite" "$tmp/rootfs" "$SANDY_TEST_MIRROR" >"$out" 2>&1 ||
        debootstrap_failed "$tmp"
}
