#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16: Environment= and a credential handed to an agent CLI as the environment variable it reads
# (CredentialEnvironment=) reach every session the agent starts in a booted sandbox, sandyctl exec and a
# login shell alike, while the key is in no unit, settings file, status output or journal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

secret="sk-e2e-$RANDOM$RANDOM$RANDOM"
mkdir -p /etc/sandy-e2e-keys && chmod 0700 /etc/sandy-e2e-keys
printf '%s\n' "$secret" >/etc/sandy-e2e-keys/anthropic && chmod 0600 /etc/sandy-e2e-keys/anthropic
cursor=$(journal_cursor)
declare_sandbox senv <<EOF2
[Sandbox]
Environment="GREETING=hello agent" EDITOR=vi
Credential=anthropic:/etc/sandy-e2e-keys/anthropic
CredentialEnvironment=ANTHROPIC_API_KEY=anthropic
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image senv
tap_check "sandy@senv (booted) starts" timeout 120 systemctl start sandy@senv.service
wait_for 60 test -e /run/systemd/machines/senv

# shellcheck disable=SC2016  # expanded inside the sandbox
out=$(sandyctl exec senv -- sh -c 'printf "%s|%s|%s\n" "$ANTHROPIC_API_KEY" "$GREETING" "$EDITOR"')
tap_check "sandyctl exec: the key, Environment= (with a space) and the rest" shows "$secret|hello agent|vi" echo "$out"
# shellcheck disable=SC2016
out=$(machinectl --quiet shell agent@senv /bin/bash -lc 'printf "%s|%s\n" "$ANTHROPIC_API_KEY" "$GREETING"' 2>&1 | tr -d '\r')
tap_check "a login shell of the agent: the same" shows "$secret|hello agent" echo "$out"
tap_check "control: the credential itself is the agent's, inside" \
        shows "$secret" sandyctl exec senv -- cat /run/sandy/credentials/anthropic
tap_check "the key is not in systemctl show" unit_show_lacks sandy@senv.service "$secret"
tap_check "nor in machinectl status" output_lacks "$(machinectl status senv 2>&1)" "$secret"
tap_check "nor in sandyctl status" output_lacks "$(sandyctl status senv 2>&1)" "$secret"
tap_check "nor in the installed .nspawn settings" bash -c '! grep -qF "$1" /run/systemd/nspawn/senv.nspawn' _ "$secret"
tap_check "nor in the shell's profile script (it reads the credential)" \
        output_lacks "$(sandyctl exec senv -- cat /etc/profile.d/sandy-session.sh)" "$secret"
tap_check "nor in the journal" journal_since_lacks "$cursor" "$secret"
systemctl stop sandy@senv.service
remove_sandbox senv
rm -rf /etc/sandy-e2e-keys
tap_done
