#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16: README.md's first steps, pasted as a new user would: "Try it" and then "A first sandbox",
# every code block of those sections as it stands in README.md (each is marked with the way it is run,
# <!-- 88-readme.sh: KIND -->, and a block without one fails the test), so the README cannot drift:
#   quickstart   ./tools/quickstart.sh, with --no-deps --no-build (apt and the package build need the
#                network; the build under test is installed)
#   exists       the commands are executable files of the checkout that parse (./tools/test.sh is the run
#                of everything, which this test is part of)
#   root         pasted into one root shell, in order
#   user         run as the user the root blocks named ($user), on a terminal of their own, with the
#                groups they have now (as after logging in again); at "sandyctl shell" the test types
#                for them, and nobody is there to leave a pager (SYSTEMD_PAGER=cat)
# What the test host cannot do is the only thing adapted: images from debootstrap: are seeded (no Debian
# mirror) when a block builds or starts a sandbox, and the project directory is a tmpfs of its own (the
# test host's /home is an overlayfs, which cannot be idmapped; a real host's ext4, xfs or btrfs can).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
[ -f /usr/share/polkit-1/rules.d/sandy.rules ] || { tap_skip "sandy.rules not installed"; tap_done; exit; }
busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 ' ||
        { tap_skip "sandy-helper is not installed"; tap_done; exit; }
src=$(cd "$(dirname "$0")/../.." && pwd)

blocks=$(readme_blocks "$src/README.md" "Try it" "A first sandbox"); rc=$?
tap_check "every code block of \"Try it\" and \"A first sandbox\" says how it is run" status_is "$rc" 0 echo "$blocks"
[ "$rc" = 0 ] || { tap_done; exit; }
n=$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$blocks")
kinds=$(python3 -c 'import json, sys; print(" ".join(b["kind"] for b in json.loads(sys.argv[1])))' "$blocks")
tap_diag "README blocks: $kinds"

# The state of a fresh host: no demo, no project, the user not yet in group sandy.
readme_user=alice
getent group sandy >/dev/null || groupadd --system sandy
gpasswd -d "$readme_user" sandy >/dev/null 2>&1
remove_sandbox demo
remove_sandbox project
make_workspace "/home/$readme_user/project" root # a tmpfs: see above; root's until the README says whose
driver=$(mktemp /tmp/e2e-readme.XXXXXX)
user_blocks=0
typed='echo written-in-the-sandbox >readme88.txt; id -un >>readme88.txt; exit
'

# The blocks in order; the root ones in one shell, as one pastes them into one terminal.
{
        # lib.sh for pty_type_as and the seeding sandyctl; then a shell as one types into (no set -u).
        printf '. %q\n. %q\nreadme_seeding_sandyctl\nset +u -e\n' "$src/tests/e2e/lib.sh" "$src/tests/e2e/sandbox-lib.sh"
        for ((i = 0; i < n; i++)); do
                kind=$(readme_block "$blocks" "$i" kind)
                text=$(readme_block "$blocks" "$i" text)
                case $kind in
                quickstart)
                        [ "$text" = "./tools/quickstart.sh" ] || { echo "echo 'unexpected quick start: $text'; exit 1"; continue; }
                        printf 'echo "== block %s: quickstart"\n(cd %q && ./tools/quickstart.sh --no-deps --no-build </dev/null)\n' "$i" "$src"
                        ;;
                exists)
                        printf 'echo "== block %s: exists"\n' "$i"
                        while read -r cmd _; do
                                [ -n "$cmd" ] || continue
                                printf 'test -x %q && bash -n %q\n' "$src/$cmd" "$src/$cmd"
                        done <<<"$text"
                        ;;
                root)
                        printf 'echo "== block %s: root"\n%s\n' "$i" "$text"
                        ;;
                user)
                        file=$driver.user$user_blocks
                        printf '%s\n' "$text" >"$file"
                        chmod 0644 "$file"
                        user_blocks=$((user_blocks + 1))
                        printf 'echo "== block %s: as $user"\n' "$i"
                        printf 'pty_type_as "$user" %q %q %q\n' 'agent@[^ :]+:[^\n]*\$ ' "$typed" "$file"
                        ;;
                *) printf 'echo "unknown kind %s"; exit 1\n' "$kind" ;;
                esac
        done
} >"$driver"
out=$(cd / && timeout 1200 bash "$driver" 2>&1); rc=$?
tap_check "the README's blocks run to the end, each exiting 0" status_is "$rc" 0 echo "$out"
tap_diag "$(tail -n 25 <<<"$out")"

# --- what they did
tap_check "the quick start ran a command in demo" output_matches "$out" "^hello from .*, Debian GNU/Linux"
tap_check "  and demo keeps running beside project" systemctl is-active -q sandy@demo.service
tap_check "root: the project directory belongs to $readme_user" test "$(stat -c %U "/home/$readme_user/project")" = "$readme_user"
tap_check "root: sandyctl verify project passed and the sandbox started, a command ran inside as agent" \
        output_matches "$out" "^uid=1000\(agent\) gid=1000\(agent\)"
tap_check "$readme_user is in group sandy now" output_matches "$(id -nG "$readme_user")" "\bsandy\b"
tap_check "  $readme_user: sandyctl list shows project as theirs" \
        output_matches "$out" "^project +.* $readme_user +yes +/home/$readme_user/project"
tap_check "  $readme_user: sandyctl shell project gave a shell as agent in the project" \
        file_matches "/home/$readme_user/project/readme88.txt" "^agent$"
tap_check "  what it wrote there belongs to $readme_user" \
        test "$(stat -c %U "/home/$readme_user/project/readme88.txt")" = "$readme_user"
tap_check "  $readme_user: sandyctl logs project showed its start" output_matches "$out" "Started sandy@project.service"
tap_check "  $readme_user: sandyctl stop project stopped it" unit_inactive sandy@project.service
tap_check "  as $readme_user, not as root (no password asked, none typed)" \
        output_lacks "$out" "Authentication is required|Interactive authentication required"

rm -f "$driver" "$driver".user*
remove_sandbox project
remove_sandbox demo
drop_workspace "/home/$readme_user/project"
usermod -aG sandy "$readme_user" # as ensure_members leaves it for the other tests
tap_done
