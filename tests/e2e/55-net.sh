#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sandbox networking against the upstream canaries (tests/testhost/README.md): a lenient sandbox reaches
# the internet canary but none of the private ones nor the host; a strict one reaches allowed.test only,
# and its DNS queries for other names never leave the host. Every "cannot" has its "can" beside it: the
# same canary, reached from the test host itself. Stop and SIGKILL leave nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
# The resolvers run as sandy-dns (sysusers.d).
systemd-sysusers >/dev/null 2>&1

# dnsmasq's --stop-dns-rebind also refuses the TEST-NET ranges that the canaries live in.
mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
printf '[Network]\nStopDNSRebind=no\n' >/etc/sandy/sandy.conf

# in NAME 'SHELL CODE': run inside the sandbox, through its own systemd (so its own resolv.conf).
inside() { machinectl --quiet shell "$1" /bin/bash -c "$2" 2>&1 | tr -d '\r'; }
# fetch NAME URL: prints the body; "rc=N" last
fetch() { inside "$1" "curl -s -m 5 $2; echo rc=\$?"; }
# reached NAME ADDR [PORT]: the canary answered, and logged exactly one new connection
reached() {
        local m out
        m=$(canary_mark)
        out=$(fetch "$1" "$(canary_url "$2" "${3:-80}")")
        echo "$out"
        echo "$out" | grep -q "^canary $2 " && [ "$(canary_hits_since "$m" "$2" "${3:-}")" -ge 1 ]
}
# blocked NAME ADDR [PORT]: no answer, and the canary saw nothing
blocked() {
        local m out
        m=$(canary_mark)
        out=$(fetch "$1" "$(canary_url "$2" "${3:-80}")")
        echo "$out"
        ! echo "$out" | grep -q "^canary " && [ "$(canary_hits_since "$m" "$2" "${3:-}")" = 0 ]
}
# from_host ADDR [PORT]: the control: the test host itself reaches the canary
from_host() {
        local m
        m=$(canary_mark)
        curl -s -m 5 "$(canary_url "$1" "${2:-80}")" | grep -q "^canary $1 " &&
                [ "$(canary_hits_since "$m" "$1" "${2:-}")" -ge 1 ]
}
sb_links() { ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^sb-' || true; }
nothing_left() { # nothing_left NAME: no namespace, link, element, slot, resolver files, resolvers
        local n=$1
        ! test -e "/run/sandy/netns/$n" && [ -z "$(sb_links)" ] &&
                ! nft list table inet sandy 2>/dev/null | grep -qE "sb_${n}_|\"sb-[0-9a-f]" &&
                ! test -e "/run/sandy/net/$n" &&
                ! systemctl -q is-active "sandy-dns@$n.service" &&
                ! systemctl -q is-active "sandy-dns-inside@$n.service"
}
export -f inside fetch reached blocked from_host canary_mark canary_hits_since canary_url sb_links nothing_left
export CANARY_LOG DNS_LOG

links0=$(sb_links)
tap_check "no sandbox links before the test" test -z "$links0"

# A listener on the test host itself, on every address: the host must not be reachable from sandboxes
# except through AllowHostPort=.
python3 -m http.server 18081 --bind :: >/dev/null 2>&1 &
hs1=$!
python3 -m http.server 18082 --bind :: >/dev/null 2>&1 &
hs2=$!
trap 'kill $hs1 $hs2 2>/dev/null' EXIT
wait_for 10 curl -s -m 2 -o /dev/null http://127.0.0.1:18082/

declare_sandbox netl <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=lenient
AllowHostPort=18082
Port=tcp:18080:8080
EOF2
seed_image netl
tap_check "generator wired sandy@netl to sandy-net@netl" \
        bash -c 'systemctl show -P Requires sandy@netl.service | grep -qw sandy-net@netl.service'
tap_check "lenient sandbox starts" timeout 120 systemctl start sandy@netl.service
if ! wait_for 60 test -e /run/systemd/machines/netl; then
        tap_fail "sandbox netl is running" "$(journalctl -b -u sandy-net@netl -u sandy-helper -u sandy@netl --no-pager -n 30)"
        remove_sandbox netl
        tap_done
        exit
fi
# Read at once, from the host: the file the sandbox booted with, not one written after it started.
tap_check "right after start, its /etc/resolv.conf names its own resolver" \
        bash -c 'gw=$(nsenter --net=/run/sandy/netns/netl ip -4 route show default | cut -d" " -f3); [ -n "$gw" ] && grep -qx "nameserver $gw" /proc/$(leader netl)/root/etc/resolv.conf'
tap_check "sandy-net@netl is active" systemctl is-active sandy-net@netl.service
tap_check "sandy-dns@netl is active" systemctl is-active sandy-dns@netl.service
tap_check "its namespace is pinned" test -e /run/sandy/netns/netl
tap_check "nspawn runs in that namespace" \
        bash -c 'a=$(readlink /proc/$(leader netl)/ns/net) && [ -n "$a" ] && [ "$a" = "$(nsenter --net=/run/sandy/netns/netl readlink /proc/self/ns/net)" ]'
tap_check "the sandbox sees sandy0 with a pool address, and no host0" \
        bash -c 'out=$(inside netl "ip -o addr show"); echo "$out"; echo "$out" | grep -q "sandy0 *inet 10\.231\." && ! echo "$out" | grep -q host0'
tap_check "its resolv.conf names its own resolver" \
        bash -c 'inside netl "cat /etc/resolv.conf" | grep -qx "nameserver $(nsenter --net=/run/sandy/netns/netl ip -4 route show default | cut -d" " -f3)"'

# The namespace belongs to the host's user namespace: the sandbox's root cannot reconfigure it.
tap_check "the sandbox's root cannot add an address to sandy0" \
        bash -c 'out=$(inside netl "ip addr add 10.231.255.1/32 dev sandy0; echo rc=\$?"); echo "$out"; echo "$out" | grep -q "Operation not permitted" && ! echo "$out" | grep -q rc=0'
tap_check "the sandbox's root cannot take sandy0 down" \
        bash -c 'out=$(inside netl "ip link set sandy0 down; echo rc=\$?"); echo "$out"; echo "$out" | grep -q "Operation not permitted" && ! echo "$out" | grep -q rc=0'
tap_check "sandy0 is still up, with no address added" \
        bash -c 'nsenter --net=/run/sandy/netns/netl ip -o link show sandy0 up | grep -q sandy0 && ! nsenter --net=/run/sandy/netns/netl ip -o addr show | grep -q 10.231.255.1'
tap_check "lenient reaches the internet canary 203.0.113.10" reached netl 203.0.113.10
# Anti-spoofing: a second source address in the sandbox's namespace (host root can add one there) gets
# nothing out, while the sandbox's own address does.
nsenter --net=/run/sandy/netns/netl ip addr add 10.231.255.1/32 dev sandy0
m=$(canary_mark)
tap_check "a spoofed source address gets nothing out" \
        bash -c '! nsenter --net=/run/sandy/netns/netl curl -s -m 5 --interface 10.231.255.1 http://203.0.113.10/'
tap_check "and the canary saw nothing of it" bash -c "[ \"\$(canary_hits_since $m 203.0.113.10)\" = 0 ]"
tap_check "the same request from the sandbox's own address arrives" \
        bash -c 'nsenter --net=/run/sandy/netns/netl curl -s -m 5 http://203.0.113.10/ | grep -q "^canary 203.0.113.10 "'
nsenter --net=/run/sandy/netns/netl ip addr del 10.231.255.1/32 dev sandy0
tap_check "lenient reaches the internet canary over IPv6" reached netl 2001:db8:1::10
tap_check "lenient resolves names through its resolver (allowed.test)" \
        bash -c 'fetch netl http://allowed.test/ | grep -q "^canary 203.0.113.20 "'
for a in 192.168.77.1 100.64.0.1 169.254.169.254 fd00::1; do
        tap_check "lenient cannot reach $a" blocked netl "$a"
        tap_check "the test host reaches $a" from_host "$a"
done
gw=$(nsenter --net=/run/sandy/netns/netl ip -4 route show default | cut -d' ' -f3)
for a in "$gw" 192.0.2.2; do
        tap_check "lenient cannot reach the test host at $a:18081" \
                bash -c "! fetch netl http://$a:18081/ | grep -q 'Directory listing'"
        tap_check "the test host answers at $a:18081" bash -c "curl -s -m 5 http://$a:18081/ | grep -q 'Directory listing'"
done
tap_check "AllowHostPort=18082 reaches the host" bash -c "fetch netl http://$gw:18082/ | grep -q 'Directory listing'"

# Port=tcp:18080:8080: a server in the sandbox's network namespace, on its loopback only (the fixture has
# no server program; the namespace is what the forward has to reach).
nsenter --net=/run/sandy/netns/netl python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8080)); s.listen(5)
while True:
    c, _ = s.accept(); c.sendall(b"inside netl\n"); c.close()' &
portsrv=$!
trap 'kill $hs1 $hs2 $portsrv 2>/dev/null' EXIT
tap_check "Port=: the socket unit listens on the host's 127.0.0.1:18080" systemctl is-active sandy-netl-port-18080.socket
tap_check "Port=: 127.0.0.1:18080 on the host reaches 127.0.0.1:8080 inside" \
        wait_for 10 bash -c 'curl -s -m 3 telnet://127.0.0.1:18080 </dev/null | grep -q "inside netl"'
tap_check "Port=: the forward is not on the host's other addresses" bash -c '! curl -s -m 3 telnet://192.0.2.2:18080 </dev/null | grep -q inside'
kill $portsrv 2>/dev/null

# The rules as sandyctl shows them.
if sandyctl --help 2>&1 | grep -q egress; then
        tap_check "sandyctl egress netl shows the mode" bash -c 'sandyctl egress netl | grep -q lenient'
fi

tap_check "stop" timeout 60 systemctl stop sandy@netl.service
tap_check "stop removed namespace, link, rules and resolver" wait_for 20 nothing_left netl
tap_check "sandy-net@netl is inactive after stop" bash -c '! systemctl -q is-active sandy-net@netl.service'
tap_check "the Port= socket is gone with the sandbox" bash -c '! systemctl -q is-active sandy-netl-port-18080.socket'

tap_check "start again" timeout 120 systemctl start sandy@netl.service
wait_for 60 test -e /run/systemd/machines/netl
tap_check "works again after a restart" reached netl 203.0.113.10
# (MainPID is 0 when the start failed: "kill -9 0" would kill this test's whole process group.)
tap_check "SIGKILL of systemd-nspawn" bash -c 'p=$(systemctl show -P MainPID sandy@netl.service); [ "$p" -gt 1 ] && kill -9 "$p"'
tap_check "SIGKILL removed namespace, link, rules and resolver" wait_for 30 nothing_left netl

# Network from the first instruction: a Boot=no sandbox whose command (PID 1 inside) fetches the
# internet canary at once, then a name through its resolver, then checks its resolv.conf; its exit status
# says which step failed.
# The image's /etc/resolv.conf as a symlink into /run (a stub resolver's file, as with systemd-resolved),
# which nspawn would follow and the container's /run would hide: sandy-prepare puts a plain file in the
# overlay instead. The image is netc's own (its Setup= makes the symlink), so no other sandbox's image is
# changed under it.
printf '#!/bin/sh\nset -e\nrm -f /etc/resolv.conf\nln -s ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf\n' \
        >/etc/sandy/netc-setup.sh
chmod 0755 /etc/sandy/netc-setup.sh
declare_sandbox netc <<EOF2
[Sandbox]
Boot=no
Ephemeral=no
Command=/bin/sh -c 'curl -sf -m 5 -o /dev/null http://203.0.113.10/ || exit 10; curl -sf -m 5 -o /dev/null http://allowed.test/ || exit 11; grep -q "^nameserver 10.231." /etc/resolv.conf || exit 12'
[Image]
From=oci-archive:$fixture/fixture.oci.tar
Setup=/etc/sandy/netc-setup.sh
[Network]
Mode=lenient
EOF2
tap_check "netc's image builds (its Setup= makes /etc/resolv.conf a symlink)" seed_image netc
img=$(image_rootfs netc)
m=$(canary_mark)
tap_check "Boot=no sandbox starts" timeout 120 systemctl start sandy@netc.service
tap_check "its command ran to the end" wait_for 60 bash -c '! systemctl -q is-active sandy@netc.service'
tap_check "its first instruction reached the internet, its resolver and its resolv.conf (exit 0)" \
        bash -c 's=$(systemctl show -P ExecMainStatus sandy@netc.service); echo "status $s"; [ "$s" = 0 ]'
tap_check "the canary saw its connection" bash -c "[ \"\$(canary_hits_since $m 203.0.113.10)\" -ge 1 ]"
tap_check "its network is gone with it" wait_for 20 nothing_left netc
tap_check "the image's symlink is untouched" test -L "$img/etc/resolv.conf"
tap_check "the mount point is a plain file of the sandbox's root in its upper layer" \
        bash -c 'f=/var/lib/sandy/state/netc/overlay/upper/etc/resolv.conf; test -f "$f" && ! test -L "$f" && [ "$(stat -c %u "$f")" != 0 ]'
# Ephemeral=no: the second start finds that file in the kept upper layer.
m=$(canary_mark)
tap_check "a second start (kept state)" timeout 120 systemctl start sandy@netc.service
tap_check "its command ran to the end" wait_for 60 bash -c '! systemctl -q is-active sandy@netc.service'
tap_check "it had the network from the start too (exit 0)" \
        bash -c 's=$(systemctl show -P ExecMainStatus sandy@netc.service); echo "status $s"; [ "$s" = 0 ]'
tap_check "the canary saw it again" bash -c "[ \"\$(canary_hits_since $m 203.0.113.10)\" -ge 1 ]"
tap_check "its network is gone again" wait_for 20 nothing_left netc
sandyctl reset netc >/dev/null
remove_sandbox netc
# And an image without /etc/resolv.conf at all (nets' own, by its Setup=).
printf '#!/bin/sh\nrm -f /etc/resolv.conf\n' >/etc/sandy/nets-setup.sh
chmod 0755 /etc/sandy/nets-setup.sh
declare_sandbox nets <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
Setup=/etc/sandy/nets-setup.sh
[Network]
Mode=strict
AllowDomain=allowed.test
AllowAddress=203.0.113.10:443
EOF2
tap_check "nets' image builds (without /etc/resolv.conf)" seed_image nets
img=$(image_rootfs nets)
tap_check "strict sandbox starts" timeout 120 systemctl start sandy@nets.service
wait_for 60 test -e /run/systemd/machines/nets
# Strict: the resolver inside its namespace, on the sandbox's own address.
tap_check "strict: its /etc/resolv.conf (none in the image) names its own resolver" \
        bash -c 'a=$(nsenter --net=/run/sandy/netns/nets ip -4 -o addr show dev sandy0 | awk "{print \$4}" | cut -d/ -f1); [ -n "$a" ] && grep -qx "nameserver $a" /proc/$(leader nets)/root/etc/resolv.conf'
dm=$(wc -l <"$DNS_LOG")
tap_check "strict reaches allowed.test" bash -c 'fetch nets http://allowed.test/ | grep -q "^canary 203.0.113.20 "'
tap_check "strict: the address of allowed.test is in the nft set of its own namespace" \
        bash -c 'nsenter --net=/run/sandy/netns/nets nft list set inet sandy dom4_0 | grep -q 203.0.113.20'
tap_check "strict cannot reach blocked.test" bash -c '! fetch nets http://blocked.test/ | grep -q "^canary"'
tap_check "strict: no DNS query for blocked.test reached upstream" \
        bash -c "! tail -n +$((dm + 1)) $DNS_LOG | grep -q 'blocked\.test'"
tap_check "strict: the query for allowed.test did reach upstream" \
        bash -c "tail -n +$((dm + 1)) $DNS_LOG | grep -q 'allowed\.test'"
tap_check "strict: other.test does not resolve" bash -c '! inside nets "getent hosts other.test" | grep -q "^[0-9]"'
tap_check "strict: and was never asked upstream" bash -c "! tail -n +$((dm + 1)) $DNS_LOG | grep -q 'other\.test'"
tap_check "the test host resolves blocked.test and other.test upstream" \
        bash -c 'getent hosts blocked.test | grep -q 203.0.113.30 && getent hosts other.test | grep -q "^[0-9]"'
tap_check "strict cannot reach blocked.test's address as a raw IP" blocked nets 203.0.113.30
tap_check "the test host reaches 203.0.113.30" from_host 203.0.113.30
tap_check "strict cannot reach 203.0.113.10:80 (raw IP)" blocked nets 203.0.113.10 80
tap_check "AllowAddress=203.0.113.10:443 reaches it" reached nets 203.0.113.10 443
tap_check "the test host reaches 203.0.113.10:80" from_host 203.0.113.10 80
m=$(canary_mark)
inside nets 'echo quic >/dev/udp/203.0.113.20/443; sleep 1' >/dev/null
tap_check "strict: no UDP (QUIC) out, even to allowed.test" bash -c "[ \"\$(tail -n +$((m + 1)) $CANARY_LOG | grep -c 'proto=udp')\" = 0 ]"
m=$(canary_mark)
echo quic >/dev/udp/203.0.113.20/443
sleep 1
tap_check "the test host's UDP datagram arrives" bash -c "[ \"\$(tail -n +$((m + 1)) $CANARY_LOG | grep -c 'proto=udp')\" -ge 1 ]"
for a in 192.168.77.1 169.254.169.254 fd00::1; do
        tap_check "strict cannot reach $a" blocked nets "$a"
done
if sandyctl --help 2>&1 | grep -q egress; then
        tap_check "sandyctl egress nets --json lists what allowed.test resolved to" \
                bash -c 'sandyctl --json=short egress nets | python3 -c "import json,sys; d=json.load(sys.stdin); assert \"203.0.113.20\" in d[\"learned\"][\"allowed.test\"], d"'
fi
tap_check "stop the strict sandbox" timeout 60 systemctl stop sandy@nets.service
tap_check "stop removed everything of nets" wait_for 20 nothing_left nets
tap_check "the image still has no /etc/resolv.conf" bash -c "! test -e '$img/etc/resolv.conf' && ! test -L '$img/etc/resolv.conf'"

# Reconcile at helper start: leftovers of a sandbox that is not running go (as after a helper crash).
# The link name the helper derives from a name: "sb-" and 48 bits of its FNV-1a hash.
ghost_if=$(python3 -c 'h = 0xcbf29ce484222325
for c in b"ghost": h = ((h ^ c) * 0x100000001b3) % 2**64
print("sb-%012x" % (h & 0xffffffffffff))')
nft add element inet sandy src4 "{ \"$ghost_if\" . 10.231.255.254 }"
nft add element inet sandy hostports "{ \"$ghost_if\" . 22 }"
ip link add sb-0123456789ab type veth peer name sp-0123456789ab
systemctl stop sandy-helper.service
busctl call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Network DescribeEgress s netl >/dev/null 2>&1
tap_check "helper start removed a stale sandbox's elements" \
        bash -c "! nft list table inet sandy | grep -qE '$ghost_if|10.231.255.254'"
tap_check "helper start removed a stale sandbox link" bash -c '! ip link show sb-0123456789ab 2>/dev/null'

remove_sandbox netl
remove_sandbox nets
tap_check "ip link has no sandbox links, as before" bash -c '[ "$(sb_links)" = "$1" ]' _ "$links0"
tap_check "the inet sandy table holds no sandbox elements" \
        bash -c '! nft list table inet sandy | grep -qE "sb_|\"sb-[0-9a-f]"'
rm -f /etc/sandy/sandy.conf
[ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
tap_done
