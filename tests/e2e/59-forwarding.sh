#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Forwarding on a host that does not forward (issue 14): sandy turns on only what its sandboxes need (IPv4
# per interface: the sandbox's link and the default route's; IPv6 per interface where the kernel has
# force_forwarding, else the global switch with every interface's own value kept), says so in the journal
# and in sandyctl doctor, routes nothing else meanwhile, and puts every value back when the last sandbox
# stops. (The test host's own network namespace: these settings are per namespace.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
# systemd-nspawn mounts /proc/sys read-only in the test host: a writable view of /proc/sys/net (the test
# host's own network namespace; nothing outside it) for this test, as a host outside a container has.
rw_net=
if ! touch /proc/sys/net/ipv4/ip_forward 2>/dev/null; then
        mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net && rw_net=1
fi
v4=$(cat /proc/sys/net/ipv4/ip_forward) v6=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
cleanup() {
        remove_sandbox fwd1
        ip netns del e2e-other 2>/dev/null
        ip link del e2e-oth 2>/dev/null
        echo "$v4" >/proc/sys/net/ipv4/ip_forward
        echo "$v6" >/proc/sys/net/ipv6/conf/all/forwarding
        [ -z "$rw_net" ] || umount /proc/sys/net
}
trap cleanup EXIT
echo 0 >/proc/sys/net/ipv4/ip_forward
echo 0 >/proc/sys/net/ipv6/conf/all/forwarding
val() { cat "/proc/sys/net/$1"; }
export -f val
ff=/proc/sys/net/ipv6/conf/uplink0/force_forwarding

# Another network behind the test host, not a sandbox: it must not be routed.
ip netns add e2e-other
ip link add e2e-oth type veth peer name o0 netns e2e-other
ip addr add 172.31.99.1/24 dev e2e-oth
ip link set e2e-oth up
ip -n e2e-other addr add 172.31.99.2/24 dev o0
ip -n e2e-other link set o0 up
ip -n e2e-other link set lo up
ip -n e2e-other route add default via 172.31.99.1
other_reaches() { ip netns exec e2e-other curl -s -m 3 http://203.0.113.10/ | grep -q '^canary '; }

declare_sandbox fwd1 <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=lenient
EOF2
seed_image fwd1
since=$(date '+%Y-%m-%d %H:%M:%S')
tap_check "a sandbox starts on a host that does not forward" timeout 120 systemctl start sandy@fwd1.service
wait_for 60 test -e /run/systemd/machines/fwd1
lif=$(ip -o link | grep -o 'sb-[0-9a-f]*' | head -n1)
tap_check "it reaches the internet canary" sb_reaches fwd1 203.0.113.10 80
tap_check "and over IPv6" sb_reaches fwd1 2001:db8:1::10 80
tap_check "IPv4 forwarding is on for its link and for uplink0 (the default route's)" \
        bash -c '[ "$(val ipv4/conf/'"$lif"'/forwarding)" = 1 ] && [ "$(val ipv4/conf/uplink0/forwarding)" = 1 ]'
tap_check "not host-wide: net.ipv4.ip_forward stays 0, and not on other interfaces" \
        bash -c '[ "$(val ipv4/ip_forward)" = 0 ] && [ "$(val ipv4/conf/e2e-oth/forwarding)" = 0 ]'
if [ -e "$ff" ]; then
        tap_check "IPv6: per interface (force_forwarding), the global switch stays 0" \
                bash -c '[ "$(val ipv6/conf/all/forwarding)" = 0 ] && [ "$(cat '"$ff"')" = 1 ]'
else
        tap_check "IPv6: the global switch, and uplink0 keeps its own value (0: it stays a host)" \
                bash -c '[ "$(val ipv6/conf/all/forwarding)" = 1 ] && [ "$(val ipv6/conf/uplink0/forwarding)" = 0 ]'
fi
tap_check "the change is announced in the journal" \
        wait_for 5 bash -c "journalctl -b --since '$since' --no-pager | grep -q 'Host forwarding changed for sandboxes: /proc/sys/net/ipv4/conf/uplink0/forwarding 0 -> 1'"
tap_check "sandyctl doctor says what sandy changed" \
        bash -c 'sandyctl doctor | grep -E "^forwarding " | grep -q "uplink0/forwarding 0 -> 1"'
# Forwarding on the other network's link as well: still, only sandbox links are routed.
echo 1 >/proc/sys/net/ipv4/conf/e2e-oth/forwarding
tap_check_fails "meanwhile the host routes nothing but sandbox links (another network behind it)" other_reaches
echo 0 >/proc/sys/net/ipv4/conf/e2e-oth/forwarding

tap_check "stop the last sandbox" timeout 60 systemctl stop sandy@fwd1.service
tap_check "IPv4 forwarding on uplink0 is put back to 0" wait_for 20 bash -c '[ "$(val ipv4/conf/uplink0/forwarding)" = 0 ]'
tap_check "net.ipv4.ip_forward is still 0" bash -c '[ "$(val ipv4/ip_forward)" = 0 ]'
if [ -e "$ff" ]; then
        tap_check "IPv6 force_forwarding on uplink0 is put back to 0" bash -c '[ "$(cat '"$ff"')" = 0 ]'
fi
tap_check "IPv6 forwarding is put back to 0" bash -c '[ "$(val ipv6/conf/all/forwarding)" = 0 ]'
tap_check "that is announced too" \
        wait_for 5 bash -c "journalctl -b --since '$since' --no-pager | grep -q 'Host forwarding put back: /proc/sys/net/ipv4/conf/uplink0/forwarding = 0'"
tap_check "sandyctl doctor reports no change of sandy's any more" bash -c '! sandyctl doctor | grep -E "^forwarding "'
# The control: with the host's own forwarding on, the other network is routed (the guard was sandy's).
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/ipv4/conf/e2e-oth/forwarding
tap_check "with the host's own forwarding on, the other network is routed (the control)" other_reaches

tap_done
