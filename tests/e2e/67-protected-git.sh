#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# issue 13: after a session, whatever the agent did, the owner's git status / commit / fetch and a shell
# in the workspace run no code the agent placed. Each attack is also done by the owner outside any session
# (the positive control: the same planting does run).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
command -v git >/dev/null || { tap_check "git is on the test host (tests/testhost/build-rootfs.sh installs it)" false; tap_done; exit; }

ws=/srv/e2e-pgit
mark=/tmp/e2e-pgit-ran
make_workspace "$ws"
git_as alice "$ws" init -q
git_as alice "$ws" config core.hooksPath .githooks
as_user alice sh -c "cd $ws && mkdir -p .githooks .github/workflows sub cfg && echo rc > src-rc && ln -s src-rc .bashrc &&
        ln -s cfg .claude && echo ci > .github/workflows/ci.yml && echo x > file && mkdir -p .git/modules/a/modules/b &&
        echo '[core]' > .git/modules/a/modules/b/config && echo HEAD > .git/modules/a/modules/b/HEAD"
git_as alice "$ws" add file && git_as alice "$ws" commit -qm init
as_user alice sh -c "echo '[user]' > $ws/shared.gitconfig"
git_as alice "$ws" config include.path ../shared.gitconfig
# A remote to fetch from, and a linked work tree (whose .git is a file) as a second workspace.
make_workspace /srv/e2e-pgit-wt
git_as alice "$ws" worktree add -q /srv/e2e-pgit-wt
git_runs_nothing() { # git_runs_nothing DIR: the owner's status, commit and fetch, and a login shell in DIR run nothing planted
        rm -f $mark
        git_as alice "$1" status >/dev/null 2>&1
        git_as alice "$1" commit -q --allow-empty -m probe >/dev/null 2>&1
        git_as alice "$1" fetch -q "$ws" >/dev/null 2>&1
        as_user alice bash -c "cd $1 && source ./.bashrc" >/dev/null 2>&1
        test ! -e $mark
}
export -f git_runs_nothing
export ws mark

# Positive controls, outside any session: each planting runs on the host.
plant_fsmonitor() { git_as alice "$1" config core.fsmonitor "$(printf 'touch %s #' $mark)"; }
plant_fsmonitor "$ws"
tap_check_fails "control: an fsmonitor in .git/config runs on git status" git_runs_nothing "$ws"
git_as alice "$ws" config --unset core.fsmonitor
as_user alice sh -c "printf '#!/bin/sh\ntouch $mark\n' > $ws/.githooks/pre-commit && chmod +x $ws/.githooks/pre-commit"
tap_check_fails "control: a hook in core.hooksPath runs on git commit" git_runs_nothing "$ws"
rm -f "$ws/.githooks/pre-commit"
as_user alice sh -c "cp $ws/shared.gitconfig $ws/shared.orig && printf '[core]\n\tfsmonitor = touch $mark #\n' >> $ws/shared.gitconfig"
tap_check_fails "control: an fsmonitor in a config file include.path names runs on git status" git_runs_nothing "$ws"
as_user alice sh -c "mv $ws/shared.orig $ws/shared.gitconfig"
tap_check "control: without plantings nothing runs" git_runs_nothing "$ws"

fixture_declaration "Workspace=$ws" | declare_sandbox pgit
seed_user_image pgit
tap_check "sandy@pgit starts" timeout 120 systemctl start sandy@pgit.service
A() { as_agent pgit sh -c "$1"; }
# Each probe below has a control: the same operation on an unprotected path works.
tap_check "control: the agent renames an unprotected directory" A 'mv sub sub.tmp && mv sub.tmp sub'
tap_check "control: the agent writes an unprotected file in .git" A 'echo x > .git/e2e-probe && rm .git/e2e-probe'
tap_check "control: the agent writes an unprotected file in the work tree" A 'echo x >> file'
# The attacks of the report, as the plain agent user.
tap_check_fails "renaming .github away fails" A 'mv .github .github.orig'
tap_check_fails "writing .git/config fails" A 'echo "[core] fsmonitor = touch '$mark'" >> .git/config'
tap_check_fails "a hook in core.hooksPath (.githooks) cannot be created" A 'echo evil > .githooks/pre-commit'
tap_check_fails "a nested submodule's config (.git/modules/a/modules/b/config) is read-only" \
        A 'echo "[core] fsmonitor = evil" >> .git/modules/a/modules/b/config'
tap_check "control: the nested submodule's git directory itself is writable" \
        A 'echo x > .git/modules/a/modules/b/e2e-probe && rm .git/modules/a/modules/b/e2e-probe'
tap_check_fails "writing through the symlinked .bashrc (to src-rc) fails" A 'echo "touch '$mark'" >> .bashrc'
tap_check_fails "writing the included config (include.path = ../shared.gitconfig) fails" \
        A 'printf "[core]\n\tfsmonitor = touch '$mark' #\n" >> shared.gitconfig'
# Last (it would take the rest with it): move .git away and make a new one with a hook and an fsmonitor
# (judged by the host's git after the session; the rename must fail already).
tap_check_fails "renaming .git away fails (a mount point during the session)" A 'mv .git .git.orig'
A 'mv .git .git.orig; mkdir -p .git/hooks && printf "#!/bin/sh\ntouch '$mark'\n" > .git/hooks/pre-commit &&
        chmod +x .git/hooks/pre-commit; git config core.fsmonitor "touch '$mark' #" 2>/dev/null ||
        printf "[core]\n\tfsmonitor = touch '$mark' #\n" >> .git/config' >/dev/null 2>&1
# What the agent can do, and stop must undo.
tap_check "the agent creates .git/commondir pointing at its own git directory" \
        A 'mkdir -p evilgit/hooks && printf "[core]\n\tfsmonitor = touch '$mark' #\n" > evilgit/config && echo ../evilgit > .git/commondir'
tap_check "the agent replaces the symlink .bashrc with a file" A 'rm .bashrc && echo "touch '$mark'" > .bashrc'
tap_check "the agent creates cfg/settings.json behind the symlinked .claude" A 'echo "{\"hooks\":1}" > cfg/settings.json'
# The symlink itself cannot be a mount point: the agent may rename it and put a directory in its place.
tap_check "the agent replaces the symlink .claude with a directory of its own settings" \
        A 'mv .claude .claude.orig && mkdir .claude && echo "{\"hooks\":2}" > .claude/settings.json'
tap_check "the agent makes a nested repository with an fsmonitor" \
        A 'mkdir -p vendor/x/.git/objects vendor/x/.git/refs && printf "[core]\n\tfsmonitor = touch '$mark' #\n" > vendor/x/.git/config && echo "ref: refs/heads/x" > vendor/x/.git/HEAD'
cursor=$(journal_cursor)
tap_check "sandy@pgit stops" timeout 60 systemctl stop sandy@pgit.service
tap_check "after the session the owner's git and shell run nothing the agent planted" git_runs_nothing "$ws"
tap_check "nested repository: git there runs nothing either" git_runs_nothing "$ws/vendor/x"
tap_check ".git/commondir is gone" absent "$ws/.git/commondir"
tap_check ".bashrc is the symlink again" shows src-rc readlink "$ws/.bashrc"
tap_check "cfg/settings.json is gone" absent "$ws/cfg/settings.json"
tap_check ".claude is the symlink to cfg again" shows cfg readlink "$ws/.claude"
tap_check "vendor/x/.git/config is gone" absent "$ws/vendor/x/.git/config"
tap_check ".git is the owner's repository still" test -f "$ws/.git/HEAD" -a ! -e "$ws/.git.orig"
for p in .git/commondir .bashrc .claude cfg/settings.json vendor/x/.git/config; do
        tap_check "the journal names $p" journal_since_has "$cursor" "protected path $ws/$p "
done
tap_check "the agent's versions are kept in the quarantine" \
        ls /var/lib/sandy/state/pgit/quarantine/*/.git/commondir /var/lib/sandy/state/pgit/quarantine/*/.bashrc
tap_check "sandyctl status shows the report" output_matches "$(sandyctl status pgit)" '\.git/commondir was created'
tap_check "control: the owner's git still works in the workspace" shows true git_as alice "$ws" rev-parse --is-inside-work-tree

# A linked work tree: its .git file must not be re-pointed (gitdir: evilgit).
declare_sandbox pgitwt <<EOF2
[Sandbox]
Workspace=/srv/e2e-pgit-wt
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
seed_user_image pgitwt
if [ -f /srv/e2e-pgit-wt/.git ]; then
        tap_check "sandy@pgitwt (a linked work tree) starts" timeout 120 systemctl start sandy@pgitwt.service
        tap_check "control: the agent writes in the linked work tree" as_agent pgitwt sh -c 'echo x > e2e-probe && rm e2e-probe'
        tap_check_fails "the .git file cannot be rewritten" as_agent pgitwt sh -c 'echo "gitdir: evilgit" > .git'
        tap_check_fails "nor renamed away" as_agent pgitwt sh -c 'mv .git .git.x'
        # The attack: a complete git directory of the agent's, and the .git file pointing at it.
        as_agent pgitwt sh -c 'mkdir -p evilgit/objects evilgit/refs && echo "ref: refs/heads/main" > evilgit/HEAD &&
                printf "[core]\n\tfsmonitor = touch '$mark' #\n" > evilgit/config; echo "gitdir: evilgit" > .git' >/dev/null 2>&1
        timeout 60 systemctl stop sandy@pgitwt.service
        tap_check "after it the owner's git in the work tree runs nothing" git_runs_nothing /srv/e2e-pgit-wt
        tap_check "the .git file still points at the main repository" file_matches /srv/e2e-pgit-wt/.git "^gitdir: $ws/.git/worktrees"
else
        tap_skip "git worktree add did not give a .git file"
fi

remove_sandbox pgit
remove_sandbox pgitwt
rm -rf /var/lib/sandy/state/pgit /var/lib/sandy/state/pgitwt $mark
drop_workspace /srv/e2e-pgit-wt
drop_workspace "$ws"
tap_done
