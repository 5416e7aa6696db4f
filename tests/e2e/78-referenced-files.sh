#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Files a declaration names are trusted like the declaration itself: a Setup= script is built into the
# image that the sandbox's agent runs with the owner's workspace, so whoever could change it would run code
# as that agent. It must belong to root or to the sandbox's owner, in directories nobody else can write.
# On 2698d7b (and before this check) bob's sandbox was built with a script alice could rewrite.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

alice_home=$(getent passwd alice | cut -d: -f6)
bob_home=$(getent passwd bob | cut -d: -f6)
setup_text='#!/bin/sh
echo built-by-setup >/etc/sandy-setup-marker'
as_user alice sh -c 'mkdir -p "$HOME/rf" && cat >"$HOME/rf/setup.sh" && chmod 0755 "$HOME/rf/setup.sh"' <<<"$setup_text"
as_user bob sh -c 'mkdir -p "$HOME/rf" && cat >"$HOME/rf/setup.sh" && chmod 0755 "$HOME/rf/setup.sh"' <<<"$setup_text"
mkdir -p /srv/e2e-rf && printf '%s\n' "$setup_text" >/srv/e2e-rf/setup.sh && chmod 0755 /srv/e2e-rf/setup.sh

decl() { # decl NAME SCRIPT
        declare_sandbox "$1" <<EOF2
[Sandbox]
Owner=bob
[Image]
From=oci-archive:$fixture/fixture.oci.tar
Setup=$2
[Network]
Mode=none
EOF2
}

decl rfalice "$alice_home/rf/setup.sh"
out=$(sandyctl build rfalice 2>&1)
tap_check "bob's sandbox with a Setup= script of alice's is not built" status_is $? 1 true
tap_check "  and the refusal names the script and why" output_matches "$out" "Setup= script .*rf/setup.sh"
tap_check "  the journal says why" wait_for 10 journal_has sandy-helper.service "Refusing Setup= script $alice_home/rf/setup.sh"

decl rfbob "$bob_home/rf/setup.sh"
tap_check "bob's sandbox with his own Setup= script is built (positive control)" sandyctl build rfbob
decl rfroot /srv/e2e-rf/setup.sh
tap_check "a Setup= script of root's is built (positive control)" sandyctl build rfroot

chmod 0775 /srv/e2e-rf
decl rfgroup /srv/e2e-rf/setup.sh
out=$(sandyctl build rfgroup 2>&1)
tap_check "a Setup= script in a group-writable directory is not built" status_is $? 1 true
chmod 0755 /srv/e2e-rf

for n in rfalice rfbob rfroot rfgroup; do remove_sandbox $n; done
rm -rf "$alice_home/rf" "$bob_home/rf" /srv/e2e-rf
tap_done
