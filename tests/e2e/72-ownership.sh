#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A sandbox belongs to someone (issue 15): alice and bob are both in group sandy; "al" is alice's (the
# owner of its workspace, the default), "bo" is bob's (Owner=bob). For every verb, each may act on their
# own and is refused on the other's; carol (not a member) is refused everywhere; root may do everything.
# On 2698d7b any member could do anything to any sandbox, so every "refused on the other's" check fails
# there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
[ -f /usr/share/polkit-1/rules.d/sandy.rules ] || { tap_skip "sandy.rules not installed"; tap_done; exit; }

ensure_members alice bob
ensure_user carol
ws=/srv/e2e-own-al
make_workspace "$ws" alice
declare_sandbox al <<EOF2
[Sandbox]
Workspace=$ws
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
declare_sandbox bo <<EOF2
[Sandbox]
Owner=bob
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image al
seed_user_image bo

other() { [ "$1" = al ] && echo bo || echo al; }
own() { [ "$1" = alice ] && echo al || echo bo; }
as() { local u=$1; shift; if [ "$u" = root ]; then "$@"; else as_user "$u" "$@"; fi; }

# --- sandyctl list says whose each one is (it only reports; the checks below are the enforcement)
out=$(as_user alice sandyctl --no-pager list 2>&1)
tap_check "alice: list shows al as hers" matches "^al +.* alice +yes +$ws$" "$out"
tap_check "alice: list shows bo as bob's, not hers" matches "^bo +.* bob +no +-$" "$out"
out=$(as_user bob sandyctl --json=short list 2>&1)
tap_check "bob: list --json says the same the other way round" python3 -c '
import json, sys
rows = {r["name"]: r for r in json.loads(sys.argv[1])}
assert rows["al"]["owner"] == "alice" and rows["al"]["access"] is False, rows
assert rows["bo"]["owner"] == "bob" and rows["bo"]["access"] is True, rows' "$out"

# --- systemctl start: each their own; the other's, and carol's attempts, refused
for u in alice bob; do
        tap_check "$u: systemctl start sandy@$(other $(own $u)) is refused" \
                refused as_user $u systemctl --no-ask-password start sandy@$(other $(own $u)).service
done
tap_check "neither started" bash -c '! systemctl is-active -q sandy@al.service && ! systemctl is-active -q sandy@bo.service'
for u in alice bob; do
        tap_check "$u: systemctl start sandy@$(own $u)" as_user $u timeout 120 systemctl --no-ask-password start sandy@$(own $u).service
done
for n in al bo; do
        tap_check "carol: systemctl start sandy@$n is refused" refused as_user carol systemctl --no-ask-password start sandy@$n.service
        wait_for 60 test -e /run/systemd/machines/$n
done

# --- while both run: every way in, for each user on each sandbox
for u in alice bob carol root; do
        for n in al bo; do
                if [ $u = root ] || [ $n = "$(own $u)" -a $u != carol ]; then ok=1; else ok=0; fi
                chk() { # chk DESC CMD...: allowed or refused, as this user may
                        local d=$1
                        shift
                        if [ $ok = 1 ]; then tap_check "$u: $d $n" "$@"; else tap_check "$u: $d $n is refused" refused "$@"; fi
                }
                chk "machinectl shell agent@" as $u timeout 60 machinectl --no-ask-password shell agent@$n /bin/true
                chk "sandyctl shell" as $u timeout 60 sandyctl --no-ask-password shell $n -- /bin/true
                # Through machinectl shell today; through issue 13's helper method once it lands.
                chk "sandyctl exec" as $u timeout 60 sandyctl --no-ask-password exec $n -- /bin/true
                chk "sandyctl build" as $u timeout 120 sandyctl --no-ask-password --no-progress build $n
                chk "sandyctl egress" as $u timeout 60 sandyctl --no-ask-password egress $n
                chk "BuildImage" helper_call $u BuildImage sb $n false
                chk "EnsureImage" helper_call $u EnsureImage s $n
                chk "DescribeEgress" helper_call $u DescribeEgress s $n
                out=$(as $u sandyctl --no-pager status $n 2>&1)
                if [ $ok = 1 ]; then
                        tap_check "$u: sandyctl status $n shows its egress" matches "^ +Egress: " "$out"
                else
                        tap_check "$u: sandyctl status $n shows no egress, and says why" \
                                bash -c '! grep -q "Egress:" <<<"$1" && grep -q "you may not use it" <<<"$1"' _ "$out"
                fi
                # The network itself is the units' business (sandy-net@, as root): no member may touch it.
                if [ $u = root ]; then
                        tap_check "root: SetupNetwork $n is authorized (and answered: Mode=none has none)" \
                                past_authorization helper_call root SetupNetwork s $n
                else
                        tap_check "$u: SetupNetwork $n is refused" refused helper_call $u SetupNetwork s $n
                        tap_check "$u: TeardownNetwork $n is refused" refused helper_call $u TeardownNetwork s $n
                fi
        done
done
# machinectl login last: machined's OpenMachineLogin starts a getty on a new pty inside, which busctl
# leaves at once; systemd inside restarts that getty on the same pty number, which a later shell's pty
# may get (it then prints a login prompt into that shell).
for u in alice bob carol root; do
        for n in al bo; do
                if [ $u = root ] || [ $n = "$(own $u)" -a $u != carol ]; then
                        tap_check "$u: machinectl login (OpenMachineLogin) $n" machined_login $u $n
                else
                        tap_check "$u: machinectl login (OpenMachineLogin) $n is refused" refused machined_login $u $n
                fi
        done
done
tap_check "bob wrote nothing into alice's workspace" bash -c "! find $ws -user bob | grep -q ."

# --- restart, machinectl stop, systemctl stop
for u in alice bob; do
        tap_check "$u: systemctl restart sandy@$(other $(own $u)) is refused" \
                refused as_user $u systemctl --no-ask-password restart sandy@$(other $(own $u)).service
        tap_check "$u: machinectl stop $(other $(own $u)) is refused" \
                refused as_user $u machinectl --no-ask-password stop $(other $(own $u))
        tap_check "$u: systemctl stop sandy@$(other $(own $u)) is refused" \
                refused as_user $u systemctl --no-ask-password stop sandy@$(other $(own $u)).service
done
for n in al bo; do
        tap_check "carol: systemctl restart sandy@$n is refused" refused as_user carol systemctl --no-ask-password restart sandy@$n.service
        tap_check "carol: machinectl stop $n is refused" refused as_user carol machinectl --no-ask-password stop $n
        tap_check "carol: systemctl stop sandy@$n is refused" refused as_user carol systemctl --no-ask-password stop sandy@$n.service
done
tap_check "both still run" bash -c 'systemctl is-active -q sandy@al.service && systemctl is-active -q sandy@bo.service'
for u in alice bob; do
        n=$(own $u)
        tap_check "$u: systemctl restart sandy@$n" as_user $u timeout 120 systemctl --no-ask-password restart sandy@$n.service
        wait_for 60 test -e /run/systemd/machines/$n
        tap_check "$u: machinectl stop $n" as_user $u machinectl --no-ask-password stop $n
        tap_check "  and $n stops" wait_for 60 sandbox_inactive $n
        tap_check "root: systemctl start sandy@$n" timeout 120 systemctl start sandy@$n.service
        tap_check "$u: systemctl stop sandy@$n" as_user $u timeout 60 systemctl --no-ask-password stop sandy@$n.service
done
tap_check "root: machinectl stop and systemctl stop anyone's" bash -c '
        systemctl start sandy@al.service sandy@bo.service && machinectl stop bo &&
        systemctl stop sandy@al.service'

# --- AllowUsers= / AllowGroups=: sharing is the admin's to declare, and applies after daemon-reload
groupadd -f e2e-sharers
usermod -aG e2e-sharers bob
mkdir -p /etc/sandy.d/al.sandbox.d
printf '[Sandbox]\nAllowGroups=e2e-sharers\n' >/etc/sandy.d/al.sandbox.d/50-share.conf
systemctl daemon-reload
out=$(helper_call root CheckAccess su al 1002 2>&1)
tap_check "CheckAccess: bob may use al through AllowGroups=" matches "^bss true \"alice\" \"agent\"$" "$out"
out=$(helper_call root CheckAccess su al "$(id -u carol)" 2>&1)
tap_check "CheckAccess: carol still may not" matches "^bss false \"alice\"" "$out"
tap_check "bob: systemctl start sandy@al (AllowGroups=)" as_user bob timeout 120 systemctl --no-ask-password start sandy@al.service
tap_check "bob: systemctl stop sandy@al" as_user bob timeout 60 systemctl --no-ask-password stop sandy@al.service
rm -r /etc/sandy.d/al.sandbox.d
systemctl daemon-reload
tap_check "without the drop-in, bob is refused again" \
        refused as_user bob systemctl --no-ask-password start sandy@al.service

remove_sandbox al
remove_sandbox bo
drop_workspace "$ws"
gpasswd -d alice sandy >/dev/null 2>&1
gpasswd -d bob sandy >/dev/null 2>&1
tap_done
