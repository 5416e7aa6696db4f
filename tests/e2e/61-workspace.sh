#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The workspace: what the agent creates belongs to the workspace's owner on the host; protected paths
# are read-only for the agent; protected paths that did not exist do not appear as stubs, and those the
# agent creates are reported at stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

ws=/srv/e2e-ws
make_workspace "$ws"
# Existing protected paths (defaults, a glob, a submodule, one of our own), plus ordinary files.
as_user alice sh -c "cd $ws && mkdir -p .git/hooks .git/info .git/modules/sub/hooks .claude .vscode .github/workflows src extra &&
        echo orig > .bashrc && echo orig > .gitconfig && echo orig > .git/config && echo orig > .git/hooks/pre-commit &&
        echo orig > .git/modules/sub/config && echo orig > .claude/settings.json && echo orig > .claude/settings.local.json &&
        echo orig > .vscode/settings.json && echo orig > .github/workflows/ci.yml && echo orig > extra/secret.txt &&
        echo orig > src/main.c"
echo rootfile >"$ws/src/root-owned"
# A protected name that is a symlink out of the workspace must not become a bind mount of its target.
ln -s /etc/hostname "$ws/.profile"
chown -h alice:alice "$ws/.profile"

declare_sandbox wsbox <<EOF2
[Sandbox]
Workspace=$ws
ProtectPath=extra/secret.txt notyet.txt
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image wsbox
tap_check "sandy@wsbox starts" timeout 120 systemctl start sandy@wsbox.service
tap_check "the symlinked protected path was noted (restored at stop if changed)" \
        journal_has sandy@wsbox.service "Protected path $ws/.profile is a symlink"

# Ownership through the idmapped mount.
tap_check "inside, the workspace belongs to the sandbox user" \
        shows agent:agent as_agent wsbox stat -c %U:%G /home/agent/workspace
tap_check "the agent creates a file in the workspace" as_agent wsbox sh -c 'echo new > src/new.c && mkdir -p build/out && echo o > build/out/x'
tap_check "on the host it belongs to the workspace owner (alice, 1001:1001)" \
        words_are "$(stat -c %u:%g $ws/src/new.c $ws/build/out/x)" 1001:1001 1001:1001
tap_check "the agent can change ordinary files" as_agent wsbox sh -c 'echo changed >> src/main.c'
tap_check "a root-owned host file shows up as nobody inside" shows 65534 as_agent wsbox stat -c %u src/root-owned
tap_check_fails "and the agent cannot change it" as_agent wsbox sh -c 'echo x >> src/root-owned'
tap_check "the sandbox's root cannot create files in the workspace (EOVERFLOW: unmapped on the host)" \
        output_matches "$(as_root_in wsbox /bin/touch /home/agent/workspace/by-root 2>&1)" 'Value too large'
tap_check "nothing was created by the sandbox's root" test ! -e "$ws/by-root"

# Protected paths.
for f in .bashrc .gitconfig .git/config .git/hooks/pre-commit .git/modules/sub/config .claude/settings.json \
         .claude/settings.local.json .vscode/settings.json .github/workflows/ci.yml extra/secret.txt; do
        tap_check "writing protected $f fails with a read-only error" \
                output_matches "$(as_agent wsbox sh -c "echo evil >> $f" 2>&1)" 'Read-only file system|Permission denied'
done
for d in .git/hooks .git/info .vscode .github/workflows; do
        tap_check_fails "creating a file in protected $d fails" as_agent wsbox sh -c "echo evil > $d/planted"
done
tap_check_fails "removing a protected file fails" as_agent wsbox rm -f .gitconfig
tap_check_fails "renaming a protected directory away fails" as_agent wsbox mv .git/hooks .git/hooks.old
tap_check "the protected files are unchanged on the host" \
        words_are "$(cd $ws && cat .bashrc .gitconfig .git/config .git/hooks/pre-commit .git/modules/sub/config .claude/settings.json extra/secret.txt)" \
        orig orig orig orig orig orig orig
tap_check "the host owner can still edit a protected file while the sandbox runs" \
        as_user alice sh -c "echo host-edit >> $ws/.bashrc"
tap_check "the symlink is still a symlink inside" shows /etc/hostname as_agent wsbox readlink .profile
tap_check "control: findmnt inside sees the workspace mount" as_agent wsbox findmnt -n /home/agent/workspace
tap_check_fails "the symlink is not a mount of its target" as_agent wsbox findmnt -n /home/agent/workspace/.profile
for f in .envrc .npmrc .mcp.json .devcontainer .sandy notyet.txt .git/packed-refs; do
        tap_check "absent protected $f has no stub on the host" test ! -e "$ws/$f" -a ! -L "$ws/$f"
done
tap_check "the agent may create an absent protected path" as_agent wsbox sh -c 'echo "export EVIL=1" > .envrc && echo x > notyet.txt && mkdir .devcontainer'
cursor=$(journal_cursor)
tap_check "sandy@wsbox stops" timeout 60 systemctl stop sandy@wsbox.service
for f in .envrc notyet.txt .devcontainer; do
        tap_check "the stop reports the created protected path $f in the journal" \
                journal_since_has "$cursor" "protected path $ws/$f was created during the session and removed"
        tap_check "and moved it out of the workspace (quarantine)" absent "$ws/$f"
done
tap_check "the agent's .envrc is kept in the quarantine" \
        file_matches "$(echo /var/lib/sandy/state/wsbox/quarantine/*/.envrc)" '^export EVIL=1$'
tap_check_fails "paths that existed at start are not reported" journal_since_has "$cursor" "protected path $ws/.bashrc was created"
tap_check "the owner's edit during the session is kept" file_matches "$ws/.bashrc" '^host-edit$'
tap_check "and reported" file_matches /var/lib/sandy/state/wsbox/protected.report '\.bashrc was changed on the host'
tap_check "the report is shown by sandyctl status" \
        output_matches "$(sandyctl status wsbox)" '\.envrc was created during the session' 'notyet\.txt was created'
tap_check "no mounts are left on the host" output_lacks "$(cat /proc/self/mountinfo)" " /run/sandy/wsbox|$ws/"

# A workspace chowned to alice but left in group root: only alice's UID and primary GID are mapped, so
# nothing the agent makes can belong to group root; the directory itself (group root) is read-only inside.
chgrp root "$ws"
mkdir -p "$ws/sub" && chown alice:alice "$ws/sub"
tap_check "sandy@wsbox starts with the workspace in group root" timeout 120 systemctl start sandy@wsbox.service
tap_check_fails "the agent cannot create files in a directory of group root" as_agent wsbox touch grp-probe
tap_check "control: in alice's directories it can" as_agent wsbox touch sub/grp-probe
tap_check "and they belong to alice:alice on the host" owner_is "$ws/sub/grp-probe" alice:alice
systemctl stop sandy@wsbox.service
chgrp alice "$ws"

# ProtectDefaultPaths=no: only the declared paths are protected.
declare_sandbox wsnodef <<EOF2
[Sandbox]
Workspace=$ws
ProtectDefaultPaths=no
ProtectPath=src/main.c
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image wsnodef
tap_check "sandy@wsnodef (ProtectDefaultPaths=no) starts" timeout 120 systemctl start sandy@wsnodef.service
tap_check "without the defaults, .bashrc is writable" as_agent wsnodef sh -c 'echo ok >> .bashrc'
tap_check_fails "the declared path is still protected" as_agent wsnodef sh -c 'echo evil >> src/main.c'
systemctl stop sandy@wsnodef.service
remove_sandbox wsnodef

# Workspace checks at start.
mkdir -p /srv/e2e-real && ln -sfn /srv/e2e-real /srv/e2e-link
declare_sandbox wslink <<EOF2
[Sandbox]
Workspace=/srv/e2e-link
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image wslink
tap_check_fails "a symlinked workspace is refused" timeout 60 systemctl start sandy@wslink.service
tap_check "with a reason in the journal" journal_has sandy@wslink.service 'a symlink'
make_workspace /srv/e2e-rootws root
declare_sandbox wsroot <<EOF2
[Sandbox]
Workspace=/srv/e2e-rootws
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image wsroot
tap_check_fails "a root-owned workspace is refused" timeout 60 systemctl start sandy@wsroot.service
tap_check "with a reason in the journal" journal_has sandy@wsroot.service 'is owned by root'
tap_check "the failed start left no mounts behind" output_lacks "$(cat /proc/self/mountinfo)" ' /run/sandy/wsroot'
tap_check "nor runtime files" absent /run/sandy/wsroot

declare_sandbox wshome <<EOF2
[Sandbox]
Workspace=$(getent passwd bob | cut -d: -f6)
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image wshome
if [ -d "$(getent passwd bob | cut -d: -f6)" ]; then
        tap_check_fails "a user's whole home directory is refused as a workspace" timeout 60 systemctl start sandy@wshome.service
        tap_check "with a reason in the journal" journal_has sandy@wshome.service 'is the home directory of bob'
else
        tap_skip "bob has no home directory in this test host"
fi

remove_sandbox wshome
remove_sandbox wsbox
remove_sandbox wslink
remove_sandbox wsroot
rm -rf /var/lib/sandy/state/wsbox /srv/e2e-link /srv/e2e-real
drop_workspace "$ws"
drop_workspace /srv/e2e-rootws
tap_done
