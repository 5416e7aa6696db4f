#!/bin/bash
# Control check of the test host itself (runs inside it, as root): if this
# fails, every other e2e result is meaningless. Checks that the host booted,
# that every canary answers from the host (so a sandbox NOT reaching one is a
# real block, not a broken fixture), that test DNS works, and that there is no
# way out to the real network.
set -euo pipefail
# shellcheck source=../testhost/e2e-lib.sh
. "$(dirname "$0")/../testhost/e2e-lib.sh"

state=$(systemctl is-system-running 2>/dev/null || true)
case $state in
    running) tap_ok "system is running" ;;
    degraded) tap_ok "system is degraded (acceptable)"
              tap_diag "failed units:" "$(systemctl --failed --no-legend --no-pager)" ;;
    *) tap_fail "system is running or degraded" "state: $state" ;;
esac

tap_check "uplink0 has 192.0.2.2/24 and 2001:db8::2/64" \
    sh -c 'ip -br addr show uplink0 | grep -q "192.0.2.2/24" && ip -br addr show uplink0 | grep -q "2001:db8::2/64"'

mark=$(canary_mark)
for a in "${CANARY_ADDRS[@]}"; do
    out=$(curl -sS --max-time 5 "$(canary_url "$a")" 2>&1) || true
    if [[ $out == "canary $a "* ]]; then
        tap_ok "canary $a reachable from the test host: $out"
    else
        tap_fail "canary $a reachable from the test host" "$out"
    fi
done
for a in 203.0.113.10 fd00::1; do
    hits=$(canary_hits_since "$mark" "$a" 80)
    if [[ $hits -ge 1 ]]; then tap_ok "canary log recorded the connection to $a"
    else tap_fail "canary log recorded the connection to $a" "$(tail -n 5 "$CANARY_LOG")"; fi
done
if tail -n +"$((mark + 1))" "$CANARY_LOG" | grep -q ' src=192.0.2.2 .* dst=203.0.113.10 '; then
    tap_ok "canary log shows the test host's source address"
else
    tap_fail "canary log shows the test host's source address" "$(tail -n 3 "$CANARY_LOG")"
fi

tap_check "resolv.conf points at 203.0.113.53" grep -qx 'nameserver 203.0.113.53' /etc/resolv.conf
for pair in allowed.test=203.0.113.20 blocked.test=203.0.113.30 other.test=203.0.113.10; do
    n=${pair%%=*} want=${pair#*=}
    got=$(getent ahostsv4 "$n" | awk '{print $1; exit}' || true)
    if [[ $got == "$want" ]]; then tap_ok "DNS: $n -> $got via 203.0.113.53"
    else tap_fail "DNS: $n -> $want" "got '${got}'"; fi
done
tap_check "dnsmasq logged the query for allowed.test" grep -q 'query\[A\] allowed.test' "$DNS_LOG"
tap_check_fails "DNS: unknown names do not resolve (no upstream resolver)" getent ahostsv4 example.com

# No uplink: an address that is no canary must be unreachable (the upstream
# namespace has no default route), for both families.
tap_check_fails "no route out: 198.51.100.1 unreachable" curl -sS --max-time 2 http://198.51.100.1/
tap_check_fails "no route out: 2001:db8:ffff::1 unreachable" curl -sS --max-time 3 'http://[2001:db8:ffff::1]/'

# Sandboxes are nested containers: nspawn must work inside the test host.
if [[ -x $FIXTURE_ROOTFS/bin/sh || -L $FIXTURE_ROOTFS/bin ]]; then
    tap_check "nested systemd-nspawn runs a command in the fixture" \
        systemd-nspawn -q --register=no -D "$FIXTURE_ROOTFS" --volatile=overlay /bin/true
    # Boot straight to poweroff: proves systemd works as a nested PID 1 with cgroup2.
    tap_check "nested systemd-nspawn boots the fixture (to poweroff.target)" \
        timeout 60 systemd-nspawn -q --register=no -D "$FIXTURE_ROOTFS" --volatile=overlay \
        --boot --console=pipe -- systemd.unit=poweroff.target
else
    tap_skip "nested systemd-nspawn: no fixture at $FIXTURE_ROOTFS"
fi

tap_done
