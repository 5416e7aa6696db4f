#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandy-helper asks polkit asynchronously (issue 15): bob's SetupNetwork waits for an authentication
# dialog he never answers (a polkit agent that hangs), and meanwhile root's SetupNetwork of another sandbox,
# and alice's DescribeEgress of hers, are answered at once. On 2698d7b the network methods asked polkit
# synchronously and the whole helper waited for bob's dialog, up to 5 minutes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
command -v pkttyagent >/dev/null || { tap_skip "pkttyagent is not installed"; tap_done; exit; }

ensure_members alice
for n in hang1 hang2; do
        declare_sandbox $n <<EOF2
[Sandbox]
Owner=alice
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
done

# The test host's root has an empty password, which polkit's authentication (as root, for an administrator
# action) takes without asking: give it one for this test, so the agent's dialog waits for an answer.
root_hash=$(getent shadow root | cut -d: -f2)
echo "root:e2e-unanswered-$RANDOM$RANDOM" | chpasswd

ts=$(mktemp /tmp/e2e-typescript.XXXXXX)
feed=$(mktemp -u /tmp/e2e-feed.XXXXXX)
mkfifo "$feed"
chmod 0666 "$feed" "$ts"
# Held open here and never written: the agent's password prompt waits forever.
exec 7<>"$feed"
as_user bob script -qfec "/src/tests/e2e/polkit-hang-agent.sh hang1" "$ts" <"$feed" >/dev/null 2>&1 &
hang=$!

tap_check "bob's call reached his agent, which asks for a password (the dialog is open)" \
        wait_for 60 grep -q "Password:" "$ts"
tap_check "root: SetupNetwork hang2 is answered at once (Mode=none: with the verdict, after authorization)" \
        past_authorization timeout 20 busctl --timeout=20 call org.sandy.Helper1 /org/sandy/Helper1 \
        org.sandy.Helper1.Network SetupNetwork s hang2
tap_check "alice: DescribeEgress hang2 is answered at once" \
        as_user alice timeout 20 busctl --timeout=20 call org.sandy.Helper1 /org/sandy/Helper1 \
        org.sandy.Helper1.Network DescribeEgress s hang2
tap_check "bob's call is still waiting for his dialog" kill -0 $hang

# Ours alone: the processes started above, by their IDs.
kill_tree $hang
wait $hang 2>/dev/null
exec 7>&-
usermod -p "$root_hash" root
rm -f "$feed" "$ts"
remove_sandbox hang1
remove_sandbox hang2
gpasswd -d alice sandy >/dev/null 2>&1
tap_done
