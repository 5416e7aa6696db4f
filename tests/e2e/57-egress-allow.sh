#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Strict mode's allowlists (issue 14): a covering prefix (AllowAddress=0.0.0.0/0 ::/0) reaches the internet
# but never metadata, the LAN, CGNAT, ULA or the host; a prefix inside a private range
# (AllowAddress=192.168.77.0/24) reaches exactly that; ports: AllowDomain= and AllowAddress= open only their
# ports (default 80 and 443); sandyctl verify warns about prefixes wider than /8 (/16 for IPv6).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
printf '[Network]\nStopDNSRebind=no\n' >/etc/sandy/sandy.conf
python3 -m http.server 18081 --bind :: >/dev/null 2>&1 &
hs=$!
cleanup() {
        kill $hs 2>/dev/null
        for n in awide apriv aport; do remove_sandbox $n; done
        rm -f /etc/sandy/sandy.conf /tmp/e2e-57-*.sandbox
        [ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
}
trap cleanup EXIT
wait_for 10 curl -s -m 2 -o /dev/null http://127.0.0.1:18081/

# sandyctl verify: wide prefixes are legal, and said so.
cat >/tmp/e2e-57-wide.sandbox <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=strict
AllowAddress=0.0.0.0/0 ::/0 10.0.0.0/7 192.168.77.0/24 [2001:db8::/32]:443
EOF2
out=$(sandyctl verify /tmp/e2e-57-wide.sandbox 2>&1)
rc=$?
tap_check "sandyctl verify accepts wide prefixes (exit 0)" test $rc = 0
tap_check "and warns about 0.0.0.0/0" grep -q "AllowAddress= 0.0.0.0/0 is wider than /8" <<<"$out"
tap_check "and about ::/0" grep -q "AllowAddress= ::/0 is wider than /16" <<<"$out"
tap_check "and about 10.0.0.0/7" grep -q "AllowAddress= 10.0.0.0/7 is wider than /8" <<<"$out"
tap_check "but not about 192.168.77.0/24 or 2001:db8::/32" \
        bash -c '! grep -qE "192.168.77.0/24 is wider|2001:db8::/32[^ ]* is wider" <<<"$1"' _ "$out"
printf '[Image]\nFrom=docker://debian:12\n[Network]\nMode=strict\nAllowDomain=example.com:0\n' >/tmp/e2e-57-bad.sandbox
tap_check_fails "sandyctl verify refuses port 0" sandyctl verify /tmp/e2e-57-bad.sandbox

declare_sandbox awide <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=strict
AllowAddress=0.0.0.0/0 ::/0
EOF2
declare_sandbox apriv <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=strict
AllowAddress=192.168.77.0/24
EOF2
declare_sandbox aport <<EOF2
[Sandbox]
# Members see the egress only of sandboxes they may use.
Owner=alice
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=strict
AllowDomain=allowed.test:443
AllowAddress=203.0.113.10:80
EOF2
for n in awide apriv aport; do
        seed_image $n
        tap_check "sandbox $n starts" timeout 120 systemctl start sandy@$n.service
        wait_for 60 test -e /run/systemd/machines/$n
done

tap_check "AllowAddress=0.0.0.0/0 reaches the internet canary" sb_reaches awide 203.0.113.10 80
tap_check "AllowAddress=0.0.0.0/0 reaches it on 443" sb_reaches awide 203.0.113.10 443
tap_check "AllowAddress=::/0 reaches the IPv6 internet canary" sb_reaches awide 2001:db8:1::10 80
for a in 169.254.169.254 100.100.100.200 fd00:ec2::254 192.168.77.1 100.64.0.1 fd00::1; do
        tap_check "the test host reaches $a" host_reaches "$a" 80
        tap_check "AllowAddress=0.0.0.0/0 ::/0 does not reach $a" sb_blocked awide "$a" 80
done
tap_check "AllowAddress=0.0.0.0/0 does not reach the test host's service" \
        sb_host_blocked awide http://192.0.2.2:18081/
tap_check "the test host serves there" host_serves http://192.0.2.2:18081/

tap_check "AllowAddress=192.168.77.0/24 reaches 192.168.77.1 (the LAN canary)" sb_reaches apriv 192.168.77.1 80
tap_check "AllowAddress=192.168.77.0/24 does not reach CGNAT 100.64.0.1" sb_blocked apriv 100.64.0.1 80
tap_check "AllowAddress=192.168.77.0/24 does not reach metadata" sb_blocked apriv 169.254.169.254 80
tap_check "AllowAddress=192.168.77.0/24 does not reach the internet" sb_blocked apriv 203.0.113.10 80

tap_check "AllowDomain=allowed.test:443 reaches it on 443" sb_reaches aport allowed.test 443 203.0.113.20
tap_check "AllowDomain=allowed.test:443 does not reach it on 80" sb_blocked aport 203.0.113.20 80
tap_check "the test host reaches allowed.test on 80" host_reaches 203.0.113.20 80
tap_check "AllowAddress=203.0.113.10:80 reaches it on 80" sb_reaches aport 203.0.113.10 80
tap_check "AllowAddress=203.0.113.10:80 does not reach it on 443" sb_blocked aport 203.0.113.10 443
tap_check "the test host reaches 203.0.113.10 on 443" host_reaches 203.0.113.10 443
tap_check "sandyctl egress shows the ports" bash -c 'sandyctl egress aport | grep -q "allowed.test:443"'
tap_check "sandyctl egress --json lists the sandbox's own table" \
        bash -c 'sandyctl --json=short egress aport | python3 -c "import json,sys; d=json.load(sys.stdin); assert \"chain output\" in d[\"rules\"] and \"policy drop\" in d[\"rules\"], d"'

# DescribeEgress asks polkit without blocking (bus_verify_polkit_async): a member of group sandy is
# answered after polkit's reply, someone else is refused.
gpasswd -a alice sandy >/dev/null 2>&1
export -f as_user
tap_check "a member of group sandy sees the egress of aport (through polkit)" \
        bash -c 'as_user alice sandyctl egress aport | grep -q "allowed.test:443"'
tap_check_fails "bob, not in group sandy, does not" as_user bob sandyctl egress aport
tap_check_fails "bob may not tear the network of aport down" \
        as_user bob busctl call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Network TeardownNetwork s aport
tap_check "aport still reaches its address" sb_reaches aport 203.0.113.10 80
gpasswd -d alice sandy >/dev/null 2>&1

tap_done
