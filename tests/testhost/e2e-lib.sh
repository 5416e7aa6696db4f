# shellcheck shell=bash
# Helpers for tests/e2e/*.sh, which run INSIDE the booted test host as root.
# Source it with:  . "$(dirname "$0")/../testhost/e2e-lib.sh"
#
# Output is TAP: "ok N - desc", "not ok N - desc", "ok N # SKIP reason".
# Call tap_done at the end: it prints the plan and sets the exit status.

TESTHOST_LOGDIR=${TESTHOST_LOGDIR:-/var/log/testhost}
CANARY_LOG=$TESTHOST_LOGDIR/canary.log
DNS_LOG=$TESTHOST_LOGDIR/dnsmasq.log
export CANARY_LOG DNS_LOG
_tap_n=0
_tap_failed=0

tap_ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
tap_fail() { # tap_fail DESC [DIAGNOSTIC...]
    local d=$1; shift
    _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
    echo "not ok $_tap_n - $d"
    if [[ $# -gt 0 ]]; then printf '%s\n' "$@" | sed 's/^/#   /'; fi
}
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
tap_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# tap_check DESC CMD...: ok if CMD succeeds; its output is shown only on failure.
tap_check() {
    local d=$1 out rc=0; shift
    out=$("$@" 2>&1) || rc=$?
    if [[ $rc -eq 0 ]]; then tap_ok "$d"; else tap_fail "$d" "exit $rc: $*" "$out"; fi
    return 0
}

# tap_check_fails DESC CMD...: ok if CMD fails.
tap_check_fails() {
    local d=$1 out rc=0; shift
    out=$("$@" 2>&1) || rc=$?
    if [[ $rc -ne 0 ]]; then tap_ok "$d"; else tap_fail "$d" "unexpectedly succeeded: $*" "$out"; fi
    return 0
}

tap_done() {
    echo "1..$_tap_n"
    [[ $_tap_failed -eq 0 ]]
}

# as_user USER CMD...: run CMD as USER with a login-like environment (no PAM session).
as_user() {
    local u=$1; shift
    # shellcheck disable=SC2016  # expanded by the inner shell
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- \
        /bin/sh -c 'cd "$HOME" 2>/dev/null || cd /; exec "$@"' sh "$@"
}

# Canary log helpers: take a mark before an action, then ask what happened after it.
canary_mark() { wc -l <"$CANARY_LOG"; }
canary_hits_since() { # canary_hits_since MARK ADDR [PORT] -> number of connections
    local mark=$1 addr=$2 port=${3:-}
    tail -n +"$((mark + 1))" "$CANARY_LOG" |
        grep -c -- " dst=$addr ${port:+dport=$port }" || true
}
canary_url() { # canary_url ADDR [PORT] -> http URL (brackets for IPv6)
    local a=$1 p=${2:-80}
    [[ $a == *:* ]] && a="[$a]"
    echo "http://$a:$p/"
}

# Fixture image built by tests/testhost/build-fixture.sh (bound read-only).
SANDY_TEST_CACHE=${SANDY_TEST_CACHE:-/var/cache/sandy-tests}
FIXTURE_DIR=$SANDY_TEST_CACHE/fixture
FIXTURE_ROOTFS=$FIXTURE_DIR/rootfs
FIXTURE_OCI=$FIXTURE_DIR/fixture.oci.tar
# shellcheck disable=SC2034  # used by the tests that source this
CANARY_ADDRS=(203.0.113.10 203.0.113.20 203.0.113.30 192.168.77.1 100.64.0.1 169.254.169.254 fd00::1 2001:db8:1::10)
export FIXTURE_DIR FIXTURE_ROOTFS FIXTURE_OCI
