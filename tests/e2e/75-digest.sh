#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The units are tied to the text they were generated from (issue 11): the generator records the
# declaration's digest in sandy@NAME.service; after an edit without daemon-reload, sandy-prepare,
# sandy-helper and sandy-polkit-check refuse with "changed since daemon-reload; run systemctl
# daemon-reload" instead of running old units with a new workspace, recipe or egress. On 2698d7b the
# edited declaration was used at once, without a word.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ensure_members alice
declare_sandbox dg <<EOF2
[Sandbox]
Owner=alice
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image dg
stale='changed since daemon-reload; run "systemctl daemon-reload"'

recorded=$(systemctl show -p Environment --value sandy@dg.service | tr ' ' '\n' | sed -n 's/^SANDY_DECLARATION_DIGEST=//p')
expected=$(sha256sum /etc/sandy.d/dg.sandbox | sha256sum | cut -d' ' -f1)
tap_check "the unit records the digest of the declaration (sha256sum of sha256sum)" test "$recorded" = "$expected"
tap_check "before any edit: root starts it" timeout 120 systemctl start sandy@dg.service
tap_check "  and stops it" timeout 60 systemctl stop sandy@dg.service

# An edit without daemon-reload: a drop-in (the new recipe would be another image, a new egress list...)
mkdir -p /etc/sandy.d/dg.sandbox.d
printf '[Image]\nPackages=curl\n' >/etc/sandy.d/dg.sandbox.d/50-edit.conf
cursor=$(journal_cursor)
tap_check_fails "root: systemctl start sandy@dg fails" timeout 120 systemctl start sandy@dg.service
tap_check "sandy-prepare said why, in the unit's journal" \
        wait_for 10 bash -c 'journalctl -u sandy@dg.service --after-cursor="$1" --no-pager -o cat | grep -qF "$2"' _ "$cursor" "The declaration of sandbox dg $stale"
out=$(helper_call root EnsureImage s dg 2>&1)
tap_check "sandy-helper: EnsureImage refuses, with the message" bash -c 'grep -qF "$1" <<<"$2"' _ "$stale" "$out"
out=$(helper_call root CheckAccess su dg 1001 2>&1)
tap_check "sandy-helper: CheckAccess refuses the same" matches "changed since daemon-reload" "$out"
out=$(/usr/libexec/sandy/sandy-polkit-check unit dg alice 2>&1); rc=$?
tap_check "sandy-polkit-check refuses (exit 1), with the message" \
        bash -c '[ "$1" = 1 ] && grep -qF "changed since daemon-reload" <<<"$2"' _ "$rc" "$out"
tap_check "alice, its owner, is refused by polkit meanwhile" \
        refused as_user alice systemctl --no-ask-password start sandy@dg.service
out=$(sandyctl --no-pager list 2>&1)
tap_check "sandyctl list shows it needs a reload" matches "^dg .*\(reload\)" "$out"

systemctl daemon-reload
tap_check "after daemon-reload the new text is recorded" bash -c \
        '[ "$(systemctl show -p Environment --value sandy@dg.service | tr " " "\n" | sed -n "s/^SANDY_DECLARATION_DIGEST=//p")" = "$(sha256sum /etc/sandy.d/dg.sandbox /etc/sandy.d/dg.sandbox.d/50-edit.conf | sha256sum | cut -d" " -f1)" ]'
out=$(/usr/libexec/sandy/sandy-polkit-check unit dg alice 2>&1)
tap_check "sandy-polkit-check agrees again, and prints the user" matches "^agent$" "$out"
rm -r /etc/sandy.d/dg.sandbox.d
systemctl daemon-reload
tap_check "and alice starts it again" as_user alice timeout 120 systemctl --no-ask-password start sandy@dg.service
timeout 60 systemctl stop sandy@dg.service
remove_sandbox dg
gpasswd -d alice sandy >/dev/null 2>&1
tap_done
