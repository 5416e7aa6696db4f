#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Declarations are root's (issue 15), as sudoers and sshd's authorized_keys under StrictModes: a declaration
# owned by alice, a group-writable one, one symlinked to a file in alice's home, a drop-in of alice's and a
# search directory others may write to are each refused with file: message in the journal, by the
# generator, sandyctl and sandy-helper alike, while the good declaration beside them is generated and runs.
# On 2698d7b all of them were generated, and alice, a member, read a root-only file through Credential= of
# the symlinked one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ensure_members alice
secret=/root/e2e-trust-secret
echo "root-only e2e secret" >"$secret"
chmod 0600 "$secret"
decl() { # decl [EXTRA-LINE]: a valid declaration text owned by alice (Owner=alice), so she may start it
        printf '[Sandbox]\nOwner=alice\n%s\n[Image]\nFrom=oci-archive:%s/fixture.oci.tar\n[Network]\nMode=none\n' \
                "${1:-}" "$fixture"
}
mkdir -p /etc/sandy.d
cursor=$(journal_cursor)
decl >/etc/sandy.d/tgood.sandbox
decl >/etc/sandy.d/towned.sandbox
chown alice /etc/sandy.d/towned.sandbox
decl >/etc/sandy.d/tgroup.sandbox
chmod 0664 /etc/sandy.d/tgroup.sandbox
as_user alice sh -c 'cat >"$HOME/tlink.sandbox"' < <(decl "Credential=k:$secret")
ln -sf "$(getent passwd alice | cut -d: -f6)/tlink.sandbox" /etc/sandy.d/tlink.sandbox
decl >/etc/sandy.d/tdrop.sandbox
mkdir -p /etc/sandy.d/tdrop.sandbox.d
printf '[Resources]\nMemoryMax=1G\n' >/etc/sandy.d/tdrop.sandbox.d/50-alice.conf
chown alice /etc/sandy.d/tdrop.sandbox.d/50-alice.conf
mkdir -p /run/sandy.d
chmod 0777 /run/sandy.d
decl >/run/sandy.d/trun.sandbox
systemctl daemon-reload

gen=/run/systemd/generator
tap_check "the good declaration is generated" test -f $gen/sandy@tgood.service.d/10-sandy.conf
for n in towned tgroup tlink tdrop trun; do
        tap_check "$n is not generated" test ! -e $gen/sandy@$n.service.d
done
tap_check "journal: the file owned by alice, with its name" wait_for 10 journal_since_has "$cursor" \
        "/etc/sandy.d/towned.sandbox: Refusing to read this file: file /etc/sandy.d/towned.sandbox is owned by UID 1001, not by root"
tap_check "journal: the group-writable file" journal_since_has "$cursor" \
        "/etc/sandy.d/tgroup.sandbox: Refusing to read this file: /etc/sandy.d/tgroup.sandbox is writable by its group (mode 0664)"
tap_check "journal: the symlink into alice's home" journal_since_has "$cursor" \
        "/etc/sandy.d/tlink.sandbox: Refusing to read this file: directory /home/alice"
tap_check "journal: alice's drop-in" journal_since_has "$cursor" \
        "/etc/sandy.d/tdrop.sandbox.d/50-alice.conf: Refusing to read this file: file /etc/sandy.d/tdrop.sandbox.d/50-alice.conf is owned by UID 1001"
tap_check "journal: the world-writable search directory" journal_since_has "$cursor" \
        "/run/sandy.d: Ignoring this search directory: directory /run/sandy.d is writable by others (mode 0777)"

# sandyctl (as root, so it is not its own user's files it trusts) says the same, with file: prefix.
for n in towned tgroup tlink tdrop; do
        out=$(sandyctl verify $n 2>&1); rc=$?
        tap_check "sandyctl verify $n fails, naming the file" bash -c '[ "$1" != 0 ] && grep -q "Refusing to read this file" <<<"$2"' _ "$rc" "$out"
done
out=$(sandyctl --no-pager list 2>&1)
tap_check "sandyctl list: tlink is an error, tgood is not" \
        bash -c 'grep -qE "^tlink +error" <<<"$1" && grep -qE "^tgood +(inactive|-) " <<<"$1"' _ "$out"
tap_check "sandyctl list does not show the sandbox in the untrusted /run/sandy.d" bash -c '! grep -q "^trun " <<<"$1"' _ "$out"

# sandy-helper: none of them is a declaration it builds for, not even for root.
helper_refuses() { # helper_refuses NAME: root's EnsureImage NAME fails for want of a usable declaration
        local out
        out=$(helper_call root EnsureImage s "$1" 2>&1) && return 1
        echo "$out"
        grep -qE "has errors|not declared" <<<"$out"
}
for n in towned tlink trun; do
        tap_check "root: EnsureImage $n is refused by the helper" helper_refuses $n
done

# The attack: alice, a member who owns the symlinked file, starts "her" sandbox to read the secret.
tap_check "alice: systemctl start sandy@tlink is refused" \
        refused as_user alice systemctl --no-ask-password start sandy@tlink.service
tap_check "root: systemctl start sandy@tlink fails too (not declared)" bash -c '! timeout 60 systemctl start sandy@tlink.service'
tap_check "the secret was copied nowhere" bash -c '! grep -rqs "root-only e2e secret" /run/sandy/tlink /run/systemd/nspawn'

# The good one still runs, and alice (its owner) may start it: the refusals above are about the files.
tap_check "tgood's image is seeded" seed_image tgood
tap_check "alice: systemctl start sandy@tgood" as_user alice timeout 120 systemctl --no-ask-password start sandy@tgood.service
tap_check "tgood runs" wait_for 60 test -e /run/systemd/machines/tgood
systemctl stop sandy@tgood.service

# Fixed by root, each is generated on the next daemon-reload.
chown root /etc/sandy.d/towned.sandbox /etc/sandy.d/tdrop.sandbox.d/50-alice.conf
chmod 0644 /etc/sandy.d/tgroup.sandbox
chmod 0755 /run/sandy.d
systemctl daemon-reload
for n in towned tgroup tdrop trun; do
        tap_check "$n is generated once root owns it alone" test -f $gen/sandy@$n.service.d/10-sandy.conf
done

for n in tgood towned tgroup tlink tdrop; do remove_sandbox $n; done
rm -f /run/sandy.d/trun.sandbox "$secret" "$(getent passwd alice | cut -d: -f6)/tlink.sandbox"
systemctl daemon-reload
gpasswd -d alice sandy >/dev/null 2>&1
tap_done
