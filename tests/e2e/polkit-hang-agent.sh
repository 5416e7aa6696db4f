#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# polkit-hang-agent.sh NAME: call sandy-helper's SetupNetwork NAME allowing interactive authorization, with
# a polkit text agent (pkttyagent) registered for this very process. polkit hands the question to that
# agent, which prompts for a password that never comes: an authentication dialog left unanswered. Run it
# under script(1), which gives the agent a terminal (the prompt lands in script's typescript). Used by
# 74-polkit-async.sh.
set -u
ready=$(mktemp -u /tmp/e2e-agent-ready.XXXXXX)
mkfifo "$ready"
# --notify-fd: pkttyagent closes it once registered, which ends the cat below.
pkttyagent --process $$ --notify-fd 3 3>"$ready" &
cat "$ready" >/dev/null
rm -f "$ready"
# Same PID and start time: polkit finds the agent for the caller.
exec busctl --timeout=600 --allow-interactive-authorization=yes call org.sandy.Helper1 /org/sandy/Helper1 \
        org.sandy.Helper1.Network SetupNetwork s "$1"
