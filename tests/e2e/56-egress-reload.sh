#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Egress fails closed whatever happens to the host's firewall (issue 14). A lenient and a strict sandbox
# run while the host's ruleset is flushed, nftables.service is restarted with Debian's /etc/nftables.conf,
# and the table inet sandy is deleted:
#  - with sandy-helper running, the host's table is back within 1 s, as on record, no sandbox restarted;
#  - with sandy-helper frozen (so the host's table stays gone), the rules in each sandbox's own namespace
#    alone keep them from the LAN, CGNAT, metadata, ULA and the host, and strict to its allowlist.
# Every "cannot" has its "can": the sandbox reaches what it may, the test host reaches every canary.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
# dnsmasq's --stop-dns-rebind also refuses the TEST-NET ranges that the canaries live in.
mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
printf '[Network]\nStopDNSRebind=no\n' >/etc/sandy/sandy.conf

python3 -m http.server 18081 --bind :: >/dev/null 2>&1 &
hs=$!
cleanup() {
        systemctl kill -s CONT sandy-helper.service 2>/dev/null
        kill $hs 2>/dev/null
        remove_sandbox rfl
        remove_sandbox rfs
        rm -f /etc/sandy/sandy.conf
        [ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
}
trap cleanup EXIT
wait_for 10 curl -s -m 2 -o /dev/null http://127.0.0.1:18081/

declare_sandbox rfl <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=lenient
EOF2
declare_sandbox rfs <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=strict
AllowDomain=allowed.test
AllowAddress=203.0.113.10:443
EOF2
seed_image rfl
seed_image rfs
for n in rfl rfs; do
        tap_check "sandbox $n starts" timeout 120 systemctl start sandy@$n.service
        wait_for 60 test -e /run/systemd/machines/$n
done
leaders0="$(leader rfl) $(leader rfs)"
gw_l=$(sb_gw4 rfl)
gw_s=$(sb_gw4 rfs)
tap_check "before: lenient reaches the internet canary" sb_reaches rfl 203.0.113.10 80
tap_check "before: strict reaches allowed.test" sb_reaches rfs allowed.test 80 203.0.113.20
tap_check "before: every table is as on record" /usr/libexec/sandy/sandy-netctl check

forbidden=(192.168.77.1 100.64.0.1 169.254.169.254 100.100.100.200 fd00::1 fd00:ec2::254)
# probe_all WHEN: what each sandbox may and may not reach, with the controls.
probe_all() {
        local when=$1 a n
        tap_check "$when, lenient reaches 203.0.113.10" sb_reaches rfl 203.0.113.10 80
        tap_check "$when, lenient reaches 2001:db8:1::10" sb_reaches rfl 2001:db8:1::10 80
        tap_check "$when, strict reaches allowed.test (its allowlist)" sb_reaches rfs allowed.test 80 203.0.113.20
        tap_check "$when, strict reaches AllowAddress=203.0.113.10:443" sb_reaches rfs 203.0.113.10 443
        for a in "${forbidden[@]}"; do
                tap_check "$when, the test host reaches $a" host_reaches "$a" 80
                for n in rfl rfs; do
                        tap_check "$when, $n cannot reach $a" sb_blocked $n "$a" 80
                done
        done
        tap_check "$when, the test host reaches 203.0.113.30" host_reaches 203.0.113.30 80
        tap_check "$when, strict cannot reach 203.0.113.30 (not on its allowlist)" sb_blocked rfs 203.0.113.30 80
        tap_check "$when, strict cannot reach 203.0.113.10:80 (only :443 is allowed)" sb_blocked rfs 203.0.113.10 80
        tap_check "$when, the test host serves on 192.0.2.2:18081" host_serves http://192.0.2.2:18081/
        for n in rfl rfs; do
                tap_check "$when, $n cannot reach the host's service at 192.0.2.2:18081" \
                        sb_host_blocked $n http://192.0.2.2:18081/
        done
        tap_check "$when, lenient cannot reach the host's service at its gateway $gw_l:18081" \
                sb_host_blocked rfl "http://$gw_l:18081/"
        tap_check "$when, strict cannot reach the host's service at its gateway $gw_s:18081" \
                sb_host_blocked rfs "http://$gw_s:18081/"
}

disrupt() {
        case $1 in
        flush) nft flush ruleset ;;
        restart) systemctl restart nftables.service ;;
        delete) nft delete table inet sandy ;;
        esac
}
declare -A what=([flush]="nft flush ruleset" [restart]="systemctl restart nftables (Debian's /etc/nftables.conf)"
                 [delete]="nft delete table inet sandy")
tap_check "Debian's /etc/nftables.conf begins by flushing the ruleset" grep -q '^flush ruleset' /etc/nftables.conf

for d in flush restart delete; do
        # With the helper: restored.
        disrupt $d
        tap_check "after ${what[$d]}, the host's table is back within 1 s" table_back_within 1000
        tap_check "after ${what[$d]}, every table is as on record again" /usr/libexec/sandy/sandy-netctl check
        tap_check "after ${what[$d]}, the helper said so in the journal" \
                wait_for 5 bash -c "journalctl -b -u sandy-helper --no-pager | grep -q 'inet sandy was changed or removed by'"

        # Without: the sandboxes' own rules alone.
        systemctl kill -s STOP sandy-helper.service
        disrupt $d
        tap_check "with the helper frozen, ${what[$d]} removed the host's table" \
                bash -c '! nft list chain inet sandy egress 2>/dev/null'
        if [ $d = flush ]; then
                out=$(sandyctl doctor 2>&1)
                tap_check "sandyctl doctor reports the host's table missing" \
                        bash -c 'grep -E "^egress tables +missing" <<<"$1" && grep -q "host missing" <<<"$1"' _ "$out"
        fi
        probe_all "after ${what[$d]} (helper frozen)"
        systemctl kill -s CONT sandy-helper.service
        tap_check "once the helper runs again, the host's table is back within 1 s" table_back_within 1000
done

# A rule slipped into the host's table, or the chains of a sandbox's table flushed by host root: put back.
systemctl kill -s STOP sandy-helper.service
nft insert rule inet sandy egress accept
out=$(sandyctl doctor 2>&1)
tap_check "sandyctl doctor reports a tampered host table" \
        bash -c 'grep -E "^egress tables +missing" <<<"$1" && grep -q "host tampered" <<<"$1"' _ "$out"
systemctl kill -s CONT sandy-helper.service
# The chain as rendered ends with one plain "accept" (lenient sandboxes); the inserted one makes two.
tap_check "the inserted rule is gone within 1 s" \
        wait_for 1 bash -c '[ "$(nft list chain inet sandy egress | grep -c "^[[:space:]]*accept$")" = 1 ]'
tap_check "the host's table is as on record" wait_for 2 /usr/libexec/sandy/sandy-netctl check
nsenter --net=/run/sandy/netns/rfs nft flush chain inet sandy output
tap_check "a flushed chain in the strict sandbox's namespace is as on record again within 1 s" \
        wait_for 1 /usr/libexec/sandy/sandy-netctl check
tap_check "and strict still reaches allowed.test (what its resolver learned was kept)" \
        sb_reaches rfs allowed.test 80 203.0.113.20
tap_check "and still not 203.0.113.30" sb_blocked rfs 203.0.113.30 80
tap_check "sandyctl doctor is content again" bash -c 'sandyctl doctor | grep -E "^egress tables +ok"'
# A new address of the host's is closed in every sandbox's own table too (not only on the host's input).
ip addr add 198.18.99.1/32 dev lo
tap_check "a new address of the host's is in the sandboxes' hostaddr sets within 2 s" \
        wait_for 2 bash -c 'for n in rfl rfs; do nsenter --net=/run/sandy/netns/$n nft list set inet sandy hostaddr4 | grep -q 198.18.99.1 || exit 1; done'
tap_check "the test host serves there" host_serves http://198.18.99.1:18081/
tap_check "lenient cannot reach it" sb_host_blocked rfl http://198.18.99.1:18081/
ip addr del 198.18.99.1/32 dev lo
tap_check "and it leaves the sets when it goes" \
        wait_for 2 bash -c '! nsenter --net=/run/sandy/netns/rfl nft list set inet sandy hostaddr4 | grep -q 198.18.99.1'
tap_check "no sandbox was restarted" bash -c '[ "$(leader rfl) $(leader rfs)" = "$1" ]' _ "$leaders0"

tap_done
