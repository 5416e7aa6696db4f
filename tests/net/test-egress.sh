#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Egress rules in real network namespaces. Everything happens inside a private network and mount
# namespace made here: that namespace plays the host ("router"); it gets an "upstream" namespace with
# canaries on public-looking and private addresses (which exist only there), a "control" namespace routed
# like a sandbox but not under sandy's rules, and sandboxes set up by sandy-netctl --direct.
# Every blocked destination is checked from the sandbox (must fail) and from control (must succeed).
# usage: test-egress.sh SANDY-NETCTL   (root; prints TAP; exit 77 to skip)
set -uo pipefail

netctl=$(readlink -f "${1:?usage: $0 SANDY-NETCTL}")
here=$(dirname "$(readlink -f "$0")")
probe="python3 $here/netprobe.py"

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP: needs root"; exit 77; fi
for t in ip nft nsenter unshare python3 dnsmasq; do
        command -v $t >/dev/null || { echo "1..0 # SKIP: $t missing"; exit 77; }
done

if [ -z "${SANDY_NETTEST_INNER:-}" ]; then
        export SANDY_NETTEST_INNER=1
        exec unshare --net --mount --propagation private "$0" "$@"
fi

tmp=$(mktemp -d /tmp/sandy-nettest.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

# A private /run and resolv.conf: nothing of the real host is touched.
mount -t tmpfs tmpfs /run
echo "nameserver 198.51.100.1" >"$tmp/resolv.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf
# The resolvers' user (sysusers.d on a real host), in this mount namespace only.
for f in passwd group; do cp /etc/$f "$tmp/$f"; done
grep -q '^sandy-dns:' "$tmp/passwd" || echo 'sandy-dns:x:64014:64014:sandy DNS resolvers:/:/usr/sbin/nologin' >>"$tmp/passwd"
grep -q '^sandy-dns:' "$tmp/group" || echo 'sandy-dns:x:64014:' >>"$tmp/group"
for f in passwd group; do mount --bind "$tmp/$f" /etc/$f; done
export SANDY_SEARCH_PATH=$tmp/sandy.d SANDY_CONFIG=$tmp/sandy.conf
mkdir -p "$SANDY_SEARCH_PATH"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if out=$("$@" 2>&1); then ok "$d"; else nok "$d"; echo "$out" | sed 's/^/#   /'; fi; }
check_fails() { local d=$1; shift; if out=$("$@" 2>&1); then nok "$d"; echo "$out" | sed 's/^/#   /'; else ok "$d"; fi; }
in_ns() { local ns=$1; shift; nsenter --net="$ns" "$@"; }
sb() { local s=$1; shift; in_ns /run/sandy/netns/"$s" "$@"; }
ctl() { ip netns exec ctl "$@"; }
# reach FROM ADDR PORT: the canary at ADDR answers with its own address
reach() { local out; out=$("${@:1:$#-2}" $probe tcp "${@: -2:1}" "${@: -1}") && [ "$out" = "canary ${@: -2:1}" ]; }

ip link set lo up
ip netns add up
ip netns add ctl
ip link add upl type veth peer name upl0 netns up
ip addr add 198.51.100.2/24 dev upl
ip addr add 2001:db8:ff::2/64 nodad dev upl
ip link set upl up
ip route add default via 198.51.100.1
ip -6 route add default via 2001:db8:ff::1
ip -n up link set lo up
ip -n up addr add 198.51.100.1/24 dev upl0
ip -n up addr add 2001:db8:ff::1/64 nodad dev upl0
ip -n up link set upl0 up
ip -n up route add default via 198.51.100.2
ip -n up -6 route add default via 2001:db8:ff::2
canaries4=(203.0.113.10 203.0.113.20 198.18.0.20 198.18.0.30 192.168.77.1 10.99.0.1 172.16.5.1 100.64.0.1 169.254.169.254 168.63.129.16 127.0.0.1)
canaries6=(2001:db8:1::10 fd00::1 fd00:ec2::254 fe80::99)
for a in "${canaries4[@]}"; do [ "$a" = 127.0.0.1 ] || ip -n up addr add "$a/32" dev lo; done
for a in "${canaries6[@]}"; do [ "$a" = fe80::99 ] || ip -n up addr add "$a/128" nodad dev lo; done
ip link add ctlr type veth peer name ctl0 netns ctl
ip addr add 10.200.0.1/24 dev ctlr
ip addr add fd99::1/64 nodad dev ctlr
ip link set ctlr up
ip -n ctl link set lo up
ip -n ctl addr add 10.200.0.2/24 dev ctl0
ip -n ctl addr add fd99::2/64 nodad dev ctl0
ip -n ctl link set ctl0 up
ip -n ctl route add default via 10.200.0.1
ip -n ctl -6 route add default via fd99::1
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding

ip netns exec up $probe serve "$tmp/up.log" 22 80 443 853 >"$tmp/up.ready" &
pids+=($!)
$probe serve "$tmp/host.log" 8080 8081 >"$tmp/host.ready" &
pids+=($!)
# The upstream resolver: test names only.
ip netns exec up dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
        --listen-address=198.51.100.1 --user=nobody --group=nogroup --pid-file= \
        --address=/allowed.test/198.18.0.20 --address=/blocked.test/198.18.0.30 --address=/rebind.test/10.99.0.1 \
        --log-queries --log-facility="$tmp/up-dns.log" &
pids+=($!)
for f in up host; do for _ in $(seq 50); do [ -s "$tmp/$f.ready" ] && break; sleep 0.1; done; done

ruleset0=$(nft list ruleset)
links0=$(ip -o link | sed 's/^[0-9]*: //' | cut -d' ' -f1 | sort)

cat >"$SANDY_SEARCH_PATH/lena.sandbox" <<EOT
[Network]
Mode=lenient
AllowHostPort=8081
EOT
cat >"$SANDY_SEARCH_PATH/lenb.sandbox" <<EOT
[Network]
Mode=lenient
EOT
cat >"$SANDY_SEARCH_PATH/stra.sandbox" <<EOT
[Network]
Mode=strict
AllowDomain=allowed.test rebind.test
AllowAddress=203.0.113.10:443 [2001:db8:1::10]:80
EOT
# Wide prefixes reach the internet but never the private ranges or metadata; a private prefix reaches
# exactly itself.
cat >"$SANDY_SEARCH_PATH/strw.sandbox" <<EOT
[Network]
Mode=strict
AllowAddress=0.0.0.0/0 ::/0
EOT
cat >"$SANDY_SEARCH_PATH/strp.sandbox" <<EOT
[Network]
Mode=strict
AllowAddress=192.168.77.0/24:80 [fd00::/64]:80
EOT
# A declaration needs an image; the network code does not look at it.
for s in lena lenb stra strw strp; do sed -i '1i [Image]\nFrom=debootstrap:bookworm' "$SANDY_SEARCH_PATH/$s.sandbox"; done

for s in lena lenb stra strw strp; do check "setup $s" "$netctl" --direct setup $s; done
# systemd starts sandy@lena's nspawn in the pinned namespace (NetworkNamespacePath=), so it must be
# complete right after setup: sandy0 up with its address and default route, lo up, nothing to move later.
check "after setup, sandy0 inside the pin is up with a pool address" \
        bash -c "nsenter --net=/run/sandy/netns/lena ip -4 -o addr show dev sandy0 up | grep -q ' inet 10\.231\.'"
check "after setup, the pin has a default route and lo up" \
        bash -c "nsenter --net=/run/sandy/netns/lena ip -4 route show default | grep -q 'dev sandy0' && nsenter --net=/run/sandy/netns/lena ip -o link show lo up | grep -q lo"
check_fails "sandy0 is not in the host's namespace" ip link show sandy0
# A container's root is root only in a user namespace of its own: it must not be able to change a
# namespace the host's user namespace owns. The control: host root can.
# (refused with EPERM by the kernel, not failing for another reason)
userns_eperm() { local out; out=$(sb lena unshare --user --map-root-user "$@" 2>&1); [ $? != 0 ] && echo "$out" | grep -q 'Operation not permitted'; }
check "root of a user namespace sees sandy0 (the control)" sb lena unshare --user --map-root-user ip link show sandy0
check "root of a user namespace cannot add an address to sandy0" userns_eperm ip addr add 10.231.255.1/32 dev sandy0
check "root of a user namespace cannot take sandy0 down" userns_eperm ip link set sandy0 down
check "sandy0 is still up" bash -c "nsenter --net=/run/sandy/netns/lena ip -o link show sandy0 up | grep -q sandy0"
check "host root can add (and remove) an address in the pin" \
        bash -c "nsenter --net=/run/sandy/netns/lena ip addr add 10.231.255.1/32 dev sandy0 && nsenter --net=/run/sandy/netns/lena ip addr del 10.231.255.1/32 dev sandy0"
check "the namespace is pinned" test -e /run/sandy/netns/lena
check "the inner link is sandy0, not host0" sb lena ip link show sandy0
check "the host side link exists" bash -c "ip -o link | grep -q ' sb-'"
a4=$(sb lena ip -4 -o addr show dev sandy0 | awk '{print $4}' | cut -d/ -f1)
h4=$(sb lena ip -4 route show default | awk '{print $3}')
a6=$(sb lena ip -6 -o addr show dev sandy0 scope global | awk '{print $4}' | cut -d/ -f1)
b4=$(sb lenb ip -4 -o addr show dev sandy0 | awk '{print $4}' | cut -d/ -f1)
s4=$(sb stra ip -4 route show default | awk '{print $3}')
echo "# lena $a4 via $h4, $a6; lenb $b4; stra resolver $s4"
check "lena has an address from the pool" bash -c "[[ '$a4' == 10.231.* ]]"
check "the resolv.conf points at the host side" grep -qx "nameserver $h4" /run/sandy/net/lena/resolv.conf

# lenient: the internet yes
check "lenient reaches 203.0.113.10" reach sb lena 203.0.113.10 80
check "lenient reaches 2001:db8:1::10 (IPv6)" reach sb lena 2001:db8:1::10 80
check "lenient reaches UDP 203.0.113.10:443" sb lena $probe udp 203.0.113.10 443
check "lenient traffic is masqueraded" bash -c "tail -n 5 $tmp/up.log | grep -q ' 203.0.113.10 80 198.51.100.2$'"
# lenient: every special range no, while control reaches the same canary
for a in 192.168.77.1 10.99.0.1 172.16.5.1 100.64.0.1 169.254.169.254 168.63.129.16 fd00::1 fd00:ec2::254; do
        check_fails "lenient cannot reach $a" reach sb lena "$a" 80
        check "control reaches $a" reach ctl "$a" 80
done
check_fails "lenient cannot reach 127.0.0.0/8 via the host" sb lena $probe tcp 127.0.0.2 80
# the host itself: no, except AllowHostPort= and the resolver
for a in "$h4" 198.51.100.2 10.200.0.1; do
        check_fails "lenient cannot reach the host at $a:8080" reach sb lena "$a" 8080
        check "control reaches the host at $a:8080" reach ctl "$a" 8080
done
check "AllowHostPort=8081 reaches the host" reach sb lena "$h4" 8081
check_fails "lenb (no AllowHostPort) cannot reach host port 8081" reach sb lenb "$(sb lenb ip -4 route show default | awk '{print $3}')" 8081
# sandbox to sandbox
nsenter --net=/run/sandy/netns/lenb python3 "$here/netprobe.py" serve "$tmp/lenb.log" 80 >"$tmp/lenb.ready" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/lenb.ready" ] && break; sleep 0.1; done
check "lenb's own canary answers inside lenb" reach sb lenb "$b4" 80
check_fails "lena cannot reach lenb" reach sb lena "$b4" 80
check_fails "control cannot open connections into a sandbox" reach ctl "$b4" 80
# anti-spoofing
sb lena ip addr add 10.231.250.2/32 dev sandy0
check_fails "a spoofed IPv4 source is dropped" sb lena $probe tcp 203.0.113.10 80 10.231.250.2
check "the real source still works" sb lena $probe tcp 203.0.113.10 80 "$a4"
sb lena ip -6 addr add fd5a:6e64:7900::ffff/128 nodad dev sandy0
check_fails "a spoofed IPv6 source is dropped" sb lena $probe tcp 2001:db8:1::10 80 fd5a:6e64:7900::ffff
check "the real IPv6 source still works" sb lena $probe tcp 2001:db8:1::10 80 "$a6"

# strict, with its two resolvers from the written configs: sandy-dns@ on the host side (allowed names only,
# forwarded upstream) and sandy-dns-inside@ in the sandbox's namespace as the resolvers' user (asks the
# first, fills the sets of the namespace).
dnsmasq -k --conf-file=/run/sandy/net/stra/dnsmasq.conf --log-facility="$tmp/stra-dns.log" &
pids+=($!)
nsenter --net=/run/sandy/netns/stra dnsmasq -k --conf-file=/run/sandy/net/stra/dnsmasq-inside.conf \
        --user=sandy-dns --group=sandy-dns --log-facility="$tmp/stra-dns-inside.log" &
pids+=($!)
r4=$(sb stra ip -4 -o addr show dev sandy0 | awk '{print $4}' | cut -d/ -f1)
for _ in $(seq 50); do [ "$(sb stra $probe dns "$r4" allowed.test)" = 198.18.0.20 ] && break; sleep 0.1; done
m=$(wc -l <"$tmp/up-dns.log")
inner_set() { sb "$1" nft list set inet sandy "$2"; }
check "strict: its resolv.conf names the resolver inside, on its own address" \
        grep -qx "nameserver $r4" /run/sandy/net/stra/resolv.conf
check "strict: allowed.test resolves through the sandbox's resolver" \
        bash -c "[ \"\$(nsenter --net=/run/sandy/netns/stra $probe dns $r4 allowed.test)\" = 198.18.0.20 ]"
check "strict: the answer landed in the nft set of the sandbox's own namespace" \
        bash -c "$(declare -f sb in_ns inner_set); inner_set stra dom4_0 | grep -q 198.18.0.20"
check "strict: the host's table has no per-sandbox sets to fill" bash -c "! nft list table inet sandy | grep -q dom4"
check "strict reaches allowed.test's address" reach sb stra 198.18.0.20 80
check "strict reaches allowed.test's address on 443 (default ports 80 and 443)" reach sb stra 198.18.0.20 443
check_fails "strict: not on other ports of allowed.test's address (22)" reach sb stra 198.18.0.20 22
check "control reaches port 22 there" reach ctl 198.18.0.20 22
check "strict: blocked.test is NXDOMAIN" bash -c "[ \"\$(nsenter --net=/run/sandy/netns/stra $probe dns $r4 blocked.test)\" = NXDOMAIN ]"
check "strict: the query for blocked.test never reached upstream" \
        bash -c "! tail -n +$((m + 1)) $tmp/up-dns.log | grep -q blocked.test"
check "strict: the query for allowed.test did reach upstream" \
        bash -c "nsenter --net=/run/sandy/netns/stra $probe dns $r4 allowed.test >/dev/null; tail -n +$((m + 1)) $tmp/up-dns.log | grep -q 'query\\[A\\] allowed.test'"
check "control resolves blocked.test upstream" bash -c "[ \"\$(ip netns exec ctl $probe dns 198.51.100.1 blocked.test)\" = 198.18.0.30 ]"
check "strict: an allowed name answering a private address is refused (DNS rebinding)" \
        bash -c "$(declare -f sb in_ns inner_set); ! nsenter --net=/run/sandy/netns/stra $probe dns $r4 rebind.test | grep -q 10.99.0.1 && ! inner_set stra dom4_0 | grep -q 10.99.0.1"
check_fails "strict cannot reach blocked.test's address" reach sb stra 198.18.0.30 80
check "control reaches blocked.test's address" reach ctl 198.18.0.30 80
check_fails "strict cannot reach a raw IP" reach sb stra 203.0.113.10 80
check "AllowAddress=203.0.113.10:443 reaches that port" reach sb stra 203.0.113.10 443
check "AllowAddress=[2001:db8:1::10]:80 reaches it" reach sb stra 2001:db8:1::10 80
check_fails "AllowAddress=[2001:db8:1::10]:80 does not open its port 443" reach sb stra 2001:db8:1::10 443
check_fails "strict: no UDP, even to an allowed address (QUIC)" sb stra $probe udp 198.18.0.20 443
check "control: UDP to it works" ctl $probe udp 198.18.0.20 443
check_fails "strict: no DNS over TLS (tcp 853), even to an allowed address" reach sb stra 198.18.0.20 853
check "control reaches tcp 853 there" reach ctl 198.18.0.20 853
check_fails "strict: no DNS to another resolver" sb stra $probe dns 198.51.100.1 allowed.test
check "control: that resolver answers" ctl $probe dns 198.51.100.1 allowed.test
check_fails "strict: the sandbox itself cannot ask the host side's resolver (only the resolver inside may)" \
        sb stra setpriv --reuid=100000 --regid=100000 --clear-groups $probe dns "$s4" allowed.test
# (A python3 the resolvers' user can run: pyenv's shims live under /root.)
if [ -x /usr/bin/python3 ]; then
        check "the host side's resolver answers the resolver's user" \
                sb stra setpriv --reuid=sandy-dns --regid=sandy-dns --clear-groups /usr/bin/python3 "$here/netprobe.py" dns "$s4" allowed.test
fi
check_fails "strict cannot reach the host's other ports" reach sb stra "$s4" 8080

# AllowAddress=0.0.0.0/0 ::/0: the internet, never metadata, LAN, CGNAT, ULA, the host.
check "strict with 0.0.0.0/0 reaches 203.0.113.10" reach sb strw 203.0.113.10 443
check "strict with ::/0 reaches 2001:db8:1::10" reach sb strw 2001:db8:1::10 80
for a in 192.168.77.1 10.99.0.1 100.64.0.1 169.254.169.254 168.63.129.16 fd00::1 fd00:ec2::254; do
        check_fails "strict with 0.0.0.0/0 ::/0 cannot reach $a" reach sb strw "$a" 80
done
check_fails "strict with 0.0.0.0/0 cannot reach the host at 198.51.100.2:8080" reach sb strw 198.51.100.2 8080
# AllowAddress=192.168.77.0/24:80 [fd00::/64]:80: those, nothing else private.
check "AllowAddress=192.168.77.0/24:80 reaches 192.168.77.1" reach sb strp 192.168.77.1 80
check "AllowAddress=[fd00::/64]:80 reaches fd00::1" reach sb strp fd00::1 80
check_fails "AllowAddress=[fd00::/64]:80 never reaches metadata fd00:ec2::254" reach sb strp fd00:ec2::254 80
check_fails "AllowAddress=192.168.77.0/24:80 does not open 10.99.0.1" reach sb strp 10.99.0.1 80
check_fails "AllowAddress=192.168.77.0/24:80 does not open the internet" reach sb strp 203.0.113.10 80
check_fails "AllowAddress=192.168.77.0/24:80 does not open port 443 there" reach sb strp 192.168.77.1 443

# Layer two alone: with the host's table gone (no helper here to restore it), the rules in each
# sandbox's namespace still hold. The controls: what each may reach, it still reaches.
check "sandy-netctl check: every table as on record (learned addresses do not count)" "$netctl" check
saved=$(nft list table inet sandy)
nft flush ruleset
check "sandy-netctl check reports the host's table missing" bash -c "out=\$('$netctl' check); [ \$? = 1 ] && grep -q '^host missing' <<<\"\$out\""
check "after nft flush ruleset: the host's table is gone" bash -c "! nft list table inet sandy"
check "after the flush, lenient still reaches 203.0.113.10" reach sb lena 203.0.113.10 80
for a in 192.168.77.1 10.99.0.1 100.64.0.1 169.254.169.254 168.63.129.16 fd00::1 fd00:ec2::254; do
        check_fails "after the flush, lenient cannot reach $a" reach sb lena "$a" 80
        check_fails "after the flush, strict cannot reach $a" reach sb stra "$a" 80
done
for a in "$h4" 198.51.100.2 10.200.0.1; do
        check_fails "after the flush, lenient cannot reach the host at $a:8080" reach sb lena "$a" 8080
done
check "after the flush, control reaches the host at 198.51.100.2:8080" reach ctl 198.51.100.2 8080
check_fails "after the flush, lena cannot reach lenb" reach sb lena "$b4" 80
check "after the flush, strict reaches allowed.test's address" reach sb stra 198.18.0.20 80
check_fails "after the flush, strict cannot reach blocked.test's address" reach sb stra 198.18.0.30 80
check_fails "after the flush, strict cannot reach a raw IP" reach sb stra 203.0.113.10 80
check_fails "after the flush, strict: no UDP" sb stra $probe udp 198.18.0.20 443
nft -f - <<<"$saved"
check "the host's table is back (by hand: no helper in this test)" nft list table inet sandy
check "and as on record" "$netctl" check
nft insert rule inet sandy egress accept
check "sandy-netctl check reports a rule added to the host's table" bash -c "out=\$('$netctl' check); [ \$? = 1 ] && grep -q '^host tampered' <<<\"\$out\""
nft -f - <<<"flush ruleset
$saved"
sb lenb nft flush chain inet sandy output
check "sandy-netctl check reports a sandbox's flushed chain" bash -c "out=\$('$netctl' check); [ \$? = 1 ] && grep -q '^sandbox lenb tampered' <<<\"\$out\" && grep -q '^sandbox lena ok' <<<\"\$out\""
check_fails "a flushed chain of its own fails closed (policy drop): lenb reaches nothing" reach sb lenb 203.0.113.10 80

"$netctl" --direct setup lenb >/dev/null 2>&1
b4=$(sb lenb ip -4 -o addr show dev sandy0 | awk '{print $4}' | cut -d/ -f1)
check "after setting lenb up again, all as on record" "$netctl" check
check "lenb reaches the internet again" reach sb lenb 203.0.113.10 80

# The sandbox's root cannot touch the rules of its namespace; host root can (the control).
check "root of a user namespace cannot flush the sandbox's ruleset" userns_eperm nft flush ruleset
check "root of a user namespace cannot delete the sandbox's table" userns_eperm nft delete table inet sandy
check "host root can list the sandbox's table" bash -c "$(declare -f sb in_ns); sb lena nft list chain inet sandy output | grep -q 'policy drop'"

# teardown: exactly the state before that sandbox
ruleset1=$(nft list ruleset | sed "s/ expires [^ ,}]*//g")
links1=$(ip -o link | sed 's/^[0-9]*: //' | cut -d' ' -f1 | sort)
check "setup of a fourth sandbox" bash -c "cp $SANDY_SEARCH_PATH/lenb.sandbox $SANDY_SEARCH_PATH/lenc.sandbox && $netctl --direct setup lenc"
check "teardown lenc" "$netctl" --direct teardown lenc
check "teardown leaves nft list ruleset as it was" \
        bash -c "diff <(echo \"\$1\") <(nft list ruleset | sed 's/ expires [^ ,}]*//g')" _ "$ruleset1"
check "teardown leaves ip link as it was" bash -c "diff <(echo \"\$1\") <(ip -o link | sed 's/^[0-9]*: //' | cut -d' ' -f1 | sort)" _ "$links1"
check "teardown is idempotent" "$netctl" --direct teardown lenc
check "setup again after teardown" "$netctl" --direct setup lena
check "still works after a second setup" reach sb lena 203.0.113.10 80
for s in lena lenb stra strw strp; do check "teardown $s" "$netctl" --direct teardown "$s"; done
no_elements() { for set in src4 src6 resolver4 resolver6 hostports strict private4 private6; do ! nft list set inet sandy $set | grep -q elements || return 1; done; }
check "no sandbox elements remain in the host's table" no_elements
check "no sandbox links remain" bash -c "diff <(echo \"\$1\") <(ip -o link | sed 's/^[0-9]*: //' | cut -d' ' -f1 | sort)" _ "$links0"
check "no pinned namespaces remain" bash -c "[ -z \"\$(ls /run/sandy/netns)\" ]"
check "no address slots remain taken" bash -c "[ -z \"\$(ls /run/sandy/net/_alloc 2>/dev/null)\" ]"
check "no rules on record remain" bash -c "! ls /run/sandy/net/*/host.nft 2>/dev/null"
check "apart from the empty table, the ruleset is as before" \
        bash -c "[ \"\$1\" = \"\$(nft list ruleset | awk '/^table inet sandy/{skip=1} !skip{print} /^}/{skip=0}')\" ]" _ "$ruleset0"

# fail closed: a batch that fails changes nothing and fails the setup
cat >"$SANDY_SEARCH_PATH/bad.sandbox" <<EOT
[Image]
From=debootstrap:bookworm
[Network]
Mode=lenient
EOT
# A set of the host's table with another type makes the sandbox's batch fail.
nft flush chain inet sandy to_host
nft delete set inet sandy hostports
nft add set inet sandy hostports '{ type ipv4_addr; }'
sed -i '$a AllowHostPort=5432' "$SANDY_SEARCH_PATH/bad.sandbox"
before=$(nft list ruleset | sed "s/ expires [^ ,}]*//g")
links_before=$(ip -o link | sed 's/^[0-9]*: //' | cut -d' ' -f1 | sort)
check_fails "setup fails when its nft batch fails" "$netctl" --direct setup bad
check "a failed setup leaves the ruleset as it was" \
        bash -c "diff <(echo \"\$1\") <(nft list ruleset | sed 's/ expires [^ ,}]*//g')" _ "$before"
check "a failed setup leaves no link, no namespace, nothing on record" \
        bash -c "diff <(echo \"\$1\") <(ip -o link | sed 's/^[0-9]*: //' | cut -d' ' -f1 | sort) && ! test -e /run/sandy/netns/bad && ! test -e /run/sandy/net/bad" _ "$links_before"
# A missing table is made again, with the skeleton and the sandbox's elements in one batch.
nft delete table inet sandy
check "setup makes the host's table again when it is missing" "$netctl" --direct setup bad
check "the set has its type again" bash -c "nft list set inet sandy hostports | grep -q 'ifname . inet_service'"
check "teardown bad" "$netctl" --direct teardown bad

# Forwarding: on a host that does not forward, sandy turns on only what its sandboxes need, says so, and
# puts it back when the last one is gone.
echo 0 >/proc/sys/net/ipv4/ip_forward
echo 0 >/proc/sys/net/ipv6/conf/all/forwarding
fwd() { cat /proc/sys/net/ipv4/conf/"$1"/forwarding; }
fwd_log=$("$netctl" --direct setup lena 2>&1)
check "setup on a host without forwarding" test $? = 0
lif=$(ip -o link | grep -o 'sb-[0-9a-f]*' | head -n1)
check "it is announced" grep -q "Host forwarding changed for sandboxes: /proc/sys/net/ipv4/conf/upl/forwarding 0 -> 1" <<<"$fwd_log"
check "forwarding is on for the sandbox's link and the uplink only" \
        bash -c "[ \$(cat /proc/sys/net/ipv4/conf/$lif/forwarding) = 1 ] && [ \$(cat /proc/sys/net/ipv4/conf/upl/forwarding) = 1 ] && [ \$(cat /proc/sys/net/ipv4/conf/ctlr/forwarding) = 0 ] && [ \$(cat /proc/sys/net/ipv4/ip_forward) = 0 ]"
check "the change is on record" grep -q "^/proc/sys/net/ipv4/conf/upl/forwarding 0$" /run/sandy/net/_forwarding
check "lenient reaches the internet with per-interface forwarding" reach sb lena 203.0.113.10 80
check "and over IPv6" reach sb lena 2001:db8:1::10 80
if [ -e /proc/sys/net/ipv6/conf/lo/force_forwarding ]; then
        check "IPv6 (Linux 6.17+): per interface too, the global switch stays off" \
                bash -c "[ \$(cat /proc/sys/net/ipv6/conf/all/forwarding) = 0 ] && [ \$(cat /proc/sys/net/ipv6/conf/upl/force_forwarding) = 1 ] && [ \$(cat /proc/sys/net/ipv6/conf/ctlr/force_forwarding) = 0 ]"
else
        check "IPv6 (before Linux 6.17): the global switch, and each interface keeps its own value" \
                bash -c "[ \$(cat /proc/sys/net/ipv6/conf/all/forwarding) = 1 ] && [ \$(cat /proc/sys/net/ipv6/conf/upl/forwarding) = 0 ]"
fi
echo 1 >/proc/sys/net/ipv4/conf/ctlr/forwarding
check_fails "the host routes nothing else meanwhile (control to upstream, forwarding on its link)" reach ctl 203.0.113.10 80
echo 0 >/proc/sys/net/ipv4/conf/ctlr/forwarding
check "teardown of the last sandbox" "$netctl" --direct teardown lena
check "forwarding is put back" bash -c "[ \$(cat /proc/sys/net/ipv4/conf/upl/forwarding) = 0 ] && [ \$(cat /proc/sys/net/ipv6/conf/all/forwarding) = 0 ] && ! test -e /run/sandy/net/_forwarding"
[ -e /proc/sys/net/ipv6/conf/lo/force_forwarding ] && check "IPv6 force_forwarding is put back" bash -c "[ \$(cat /proc/sys/net/ipv6/conf/upl/force_forwarding) = 0 ]"
check "the guard is gone too" bash -c "! nft list set inet sandy fwguard | grep -q elements"
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
check "control routes again" reach ctl 203.0.113.10 80

echo "1..$n"
[ "$failed" = 0 ]
