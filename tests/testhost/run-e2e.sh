#!/bin/bash
# Run every tests/e2e/[0-9]*.sh inside a freshly booted test host, then the host-level tests
# tests/e2e/host-*.sh (which reboot it) from outside.
#
#   run-e2e.sh DESTDIR [--suite bookworm|trixie] [--name N]
#
# SANDY_E2E_ONLY=GLOB runs only tests/e2e/GLOB.sh (e.g. "5*" or "50-net*"), host tests included
# only when they match; for working on one area. Other SANDY_E2E_* variables (SANDY_E2E_MANY,
# SANDY_E2E_SLOW) are passed to the tests in the host.
#
# DESTDIR is a `meson install --destdir` tree; it is layered over the cached
# rootfs. The source tree is bound read-only at /src inside the host and each
# test runs there as root. Prints each test's TAP output and ends with one line
# "N passed, N failed, N skipped". Exits 77 (meson's skip) when it cannot run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[[ $EUID -eq 0 ]] || skip "e2e tests need root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"

[[ $# -ge 1 && $1 != -* ]] || { echo "usage: $0 DESTDIR [--suite S] [--name N]" >&2; exit 2; }
destdir=$(cd "$1" && pwd); shift
args=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --suite|--name) args+=("$1" "$2"); shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

# The fixture must exist before boot: it is bound read-only into the host.
"$here/build-fixture.sh" --quiet >/dev/null

# Runs inside the test host: each test in turn, TAP passed through, and a
# synthetic "not ok" for a script that died without saying so.
# shellcheck disable=SC2016  # expanded inside the test host
only=${SANDY_E2E_ONLY:-[0-9]*}
[[ $only =~ ^[][A-Za-z0-9*?_.-]+$ ]] || { echo "SANDY_E2E_ONLY: not a plain glob: $only" >&2; exit 2; }
# The registry, Packages= and agent tests (9*) need a base image, Debian packages and npm packages from the
# internet: fetched once into the cache (build-agent-cache.sh); without them those tests skip.
# shellcheck disable=SC2086  # the glob
if compgen -G "$src/tests/e2e/$only.sh" | grep -q '/9[0-9]-'; then
    "$here/build-agent-cache.sh" --quiet >/dev/null || echo "# warning: build-agent-cache.sh failed; the tests that need it skip"
fi
inner='
failed=0
for t in /src/tests/e2e/$only.sh; do
    [ -e "$t" ] || continue
    n=${t##*/}
    case $n in host-*) continue ;; esac # they reboot the host: run from outside, below
    echo "# ---- $n"
    out=$(mktemp)
    rc=0
    (cd /src/tests/e2e && bash "$t") >"$out" 2>&1 </dev/null || rc=$?
    cat "$out"
    if [ "$rc" -eq 77 ] && ! grep -qE "^(not )?ok" "$out"; then
        echo "ok 1 # SKIP $n exited 77"
    elif [ "$rc" -ne 0 ]; then
        failed=1
        grep -q "^not ok" "$out" || echo "not ok - $n exited with status $rc"
    fi
    rm -f "$out"
done
exit $failed
'

log=$(mktemp /tmp/sandy-e2e.XXXXXX)
name=th suite=bookworm
for ((i = 0; i < ${#args[@]}; i++)); do
    [[ ${args[i]} == --name ]] && name=${args[i + 1]}
    [[ ${args[i]} == --suite ]] && suite=${args[i + 1]}
done
th() { "$here/testhost.sh" "$@"; }
cleanup() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        j=${SANDY_TESTHOST_ARTIFACTS:-/var/tmp}/sandy-testhost-$name.journal.txt
        th journal --name "$name" "$j" >/dev/null 2>&1 && echo "# test host journal: $j"
    fi
    th stop --name "$name" >/dev/null 2>&1 || true
    rm -f "$log"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rc=0
th start --install "$destdir" "${args[@]}" --bind-ro "$src:/src" 2>&1 | tee -a "$log" || rc=1
if [[ $rc -eq 0 ]]; then
    if [[ -e /proc/$$/fd/0 ]]; then exec {stdin}<&0; else exec {stdin}</dev/null; fi
    # Knobs of single tests (SANDY_E2E_MANY=100 for 81-many, SANDY_E2E_SLOW=1) go into the host too.
    envs=()
    for v in "${!SANDY_E2E_@}"; do [[ $v == SANDY_E2E_ONLY ]] || envs+=(--env "$v=${!v}"); done
    th exec --name "$name" "${envs[@]}" -- /bin/bash -c "only='$only'; $inner" <&"$stdin" 2>&1 | tee -a "$log" || rc=${PIPESTATUS[0]}
    # Host-level tests run out here, because they reboot the test host: tests/e2e/host-*.sh,
    # given TESTHOST (this testhost.sh) and TESTHOST_NAME; and, to boot a host of their own with other
    # options (host-limits.sh), TESTHOST_SUITE, TESTHOST_DESTDIR and TESTHOST_SRC.
    host_only=host-*
    [[ -z ${SANDY_E2E_ONLY:-} ]] || host_only=$SANDY_E2E_ONLY
    for t in "$src"/tests/e2e/$host_only.sh; do
        [[ ${t##*/} == host-* ]] || continue
        [[ -e $t ]] || continue
        echo "# ---- ${t##*/}" | tee -a "$log"
        trc=0
        TESTHOST="$here/testhost.sh" TESTHOST_NAME="$name" TESTHOST_SUITE="$suite" TESTHOST_DESTDIR="$destdir" \
            TESTHOST_SRC="$src" bash "$t" </dev/null 2>&1 | tee -a "$log" ||
            trc=${PIPESTATUS[0]}
        if [[ $trc -ne 0 ]]; then
            rc=1
            echo "not ok - ${t##*/} exited with status $trc" | tee -a "$log"
        fi
    done
fi

passed=$(grep -E '^ok( |$)' "$log" | grep -vic '# *skip' || true)
skipped=$(grep -E '^ok( |$)' "$log" | grep -ic '# *skip' || true)
failed=$(grep -cE '^not ok( |$)' "$log" || true)
if [[ $rc -ne 0 && $failed -eq 0 ]]; then
    failed=1   # the test host itself failed (boot, setup): count it
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
