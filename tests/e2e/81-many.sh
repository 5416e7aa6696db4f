#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many sandboxes at once (issue 17): N Boot=no sandboxes with their own network (Mode=lenient: netns, veth,
# nft set elements, dnsmasq) start with one systemctl start, all answer, stop with one systemctl stop,
# all end inactive, and nothing is left behind: links, nft elements, mounts, netns pins,
# machines, dnsmasq, runtime and settings files.
# N is SANDY_E2E_MANY (default 20, for CI time); the issue's 100 by hand:
#   SANDY_E2E_MANY=100 SANDY_E2E_ONLY=81-many tests/testhost/run-e2e.sh DESTDIR
. "$(dirname "$0")/lib.sh"

N=${SANDY_E2E_MANY:-20}
[[ $N =~ ^[1-9][0-9]{0,3}$ ]] || { tap_fail "SANDY_E2E_MANY must be a number from 1 to 9999: '$N'"; tap_done; exit; }
fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

names=()
for ((i = 1; i <= N; i++)); do names+=("many$i"); done
units=("${names[@]/#/sandy@}")
units=("${units[@]/%/.service}")

tap_check "nothing of many* exists before the test" nothing_left_of many

tap_check "declare $N Boot=no sandboxes (Mode=lenient, sleep infinity), one daemon-reload" \
        declare_many many "$N" $'Boot=no\nCommand=/bin/sleep infinity' lenient
tap_check "their image (one for all: the same recipe)" seed_image many1

tap_check "all $N start with one systemctl start" timeout 900 systemctl start "${units[@]}"
tap_check "all $N are active" count_is "$N" active_units "${units[@]}"
tap_check "all $N answer (sandyctl exec NAME -- true)" count_is "$N" answering "${names[@]}"
# The positive controls of the leftover checks below: while they run, each probe sees every sandbox.
tap_check "while running: $N machines, netns pins, sb- links, dnsmasq, links in nft elements, root mounts" \
        many_resources_are many "$N"

mark_journal
tap_check "all $N stop with one systemctl stop" timeout 900 systemctl stop "${units[@]}"
tap_check "all $N are inactive, none failed" count_is "$N" inactive_units "${units[@]}"
tap_check_fails "no \"Failed with result\" for any of them" journal_failed "${names[@]}"
tap_check "nothing is left behind (once the network units' own stop jobs are done)" settled_nothing_left_of many
tap_check "sandy-net@ and sandy-dns@ of all are inactive too" \
        count_is "$((2 * N))" inactive_units "${units[@]/#sandy@/sandy-net@}" "${units[@]/#sandy@/sandy-dns@}"

for n in "${names[@]}"; do rm -f "/etc/sandy.d/$n.sandbox"; done
systemctl daemon-reload
tap_done
