#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent examples as shipped (examples/claude-code.sandbox, codex.sandbox, gemini-cli.sandbox and their
# Setup= scripts), built and run for real. The only changes, in a drop-in as an admin would make them: the
# workspace, and the base image from the test registry instead of Docker Hub (Debian 13 with its apt
# sources and npm's registry pointing at the upstream mirrors, which serve the packages and the pinned agent
# CLIs fetched once by tests/testhost/build-agent-cache.sh). In each sandbox, as the agent user: the CLI
# answers --version, its configuration directory is writable and survives a restart (PersistHome=), the
# agent's project settings are read-only (ProtectPath=), and in strict mode its API host resolves (the
# upstream DNS answers it with the internet canary) but blocked.test does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

registry_env || { tap_skip "no registry in this test host"; tap_done; exit; }
[ -n "${MIRROR_URL:-}" ] || { tap_skip "no agent cache (tests/testhost/build-agent-cache.sh)"; tap_done; exit; }
examples=/usr/share/doc/sandy/examples
[ -f $examples/claude-code.sandbox ] || { tap_skip "the examples are not installed"; tap_done; exit; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
ensure_members alice
auth=/etc/sandy/registry-auth.json
mkdir -p /etc/sandy
[ -e /etc/sandy/sandy.conf ] && cp /etc/sandy/sandy.conf /etc/sandy/sandy.conf.e2e-saved
# The upstream DNS answers the API hosts with a TEST-NET address, which dnsmasq's rebind protection refuses.
printf '[Image]\nRegistryAuthFile=%s\n[Network]\nStopDNSRebind=no\n' "$auth" >/etc/sandy/sandy.conf
(umask 077 && registry_auth_json "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$auth")
tap_check "the agents' base image is in the registry" agent_base_push
tap_check "the test host resolves blocked.test (control for the strict checks)" \
        bash -c "getent hosts blocked.test | grep -q '^203.0.113.30 '"

pin() { sed -n "s|^$1@||p" "$AGENTS_CACHE/recipe"; }
# NAME BINARY PACKAGE CONFIG-DIR PROTECTED-FILE API-HOST
agents=(
        "claude-code claude @anthropic-ai/claude-code .claude .claude/settings.json api.anthropic.com"
        "codex codex @openai/codex .codex .codex/config.toml api.openai.com"
        "gemini-cli gemini @google/gemini-cli .gemini .gemini/settings.json generativelanguage.googleapis.com"
)
for a in "${agents[@]}"; do
        read -r n bin pkg conf protected api <<<"$a"
        version=$(pin "$pkg")
        ws=/srv/agents/$n
        make_workspace "$ws"
        as_user alice sh -c "mkdir -p '$ws/$(dirname "$protected")' && echo '{}' >'$ws/$protected'"
        cp "$examples/$n.sandbox" /etc/sandy.d/
        mkdir -p "/etc/sandy.d/$n.sandbox.d"
        printf '[Sandbox]\nWorkspace=%s\n[Image]\nFrom=docker://%s/agent-base:trixie\n' "$ws" "$REGISTRY" \
                >"/etc/sandy.d/$n.sandbox.d/50-test.conf"
        systemctl daemon-reload
        tap_check "$n: the shipped example with the test drop-in verifies" sandyctl verify "$n"

        mark=$(wc -l <"$MIRROR_LOG")
        out=$(timeout 1200 sandyctl --no-pager build "$n" 2>&1)
        tap_check "$n: the image builds (Packages= from the Debian mirror, Setup= installs $pkg@$version)" \
                grep -q "Image of $n is ready" <<<"$out"
        tap_diag "$out"
        tap_check "$n: npm fetched $pkg from the mirror" bash -c "
                $(declare -f mirror_gets); MIRROR_LOG=$MIRROR_LOG
                [ \$(mirror_gets '^/npm/${pkg}/-/.*-${version}\.tgz 200$' $mark) -ge 1 ]"

        tap_check "$n: the sandbox starts" timeout 180 systemctl start "sandy@$n.service"
        out=$(as_agent "$n" "$bin" --version 2>&1)
        tap_check "$n: '$bin --version' runs as the agent user and says $version" grep -qF "$version" <<<"$out"
        tap_diag "$bin --version: $out"
        tap_check "$n: it runs as the sandbox user, not root" bash -c "[ \"\$(sandyctl exec $n -- id -un)\" = agent ]"
        tap_check "$n: the agent writes its configuration directory ~/$conf" \
                as_agent "$n" sh -c "mkdir -p ~/$conf && echo kept >~/$conf/sandy-e2e && grep -qx kept ~/$conf/sandy-e2e"
        tap_check "$n: the agent writes its workspace (control)" as_agent "$n" sh -c "echo notes >~/workspace/notes.txt"
        tap_check_fails "$n: the agent cannot change $protected" as_agent "$n" sh -c "echo '{\"x\":1}' >>~/workspace/$protected"
        tap_check_fails "$n: nor replace it" as_agent "$n" sh -c "rm -f ~/workspace/$protected; mv ~/workspace/notes.txt ~/workspace/$protected"
        tap_check "$n: $protected is unchanged on the host" bash -c "[ \"\$(cat '$ws/$protected')\" = '{}' ]"
        tap_check "$n: strict mode resolves the agent's API host $api" \
                bash -c "sandyctl exec $n -- getent hosts $api | grep -q '^203\.0\.113\.10 '"
        tap_check_fails "$n: but not blocked.test" sandyctl exec "$n" -- getent hosts blocked.test

        tap_check "$n: it restarts" timeout 180 systemctl restart "sandy@$n.service"
        tap_check "$n: ~/$conf survives the restart (PersistHome=yes)" as_agent "$n" grep -qx kept "/home/agent/$conf/sandy-e2e"
        systemctl stop "sandy@$n.service"
        wait_for 30 unit_inactive "sandy@$n.service"
        remove_sandbox "$n"
        drop_workspace "$ws"
done

# Removing the three agent images takes the helper a minute or more on a loaded machine, during which it
# answers nothing: wait for Prune's reply, so that the next test does not meet a helper still busy.
busctl --system --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager Prune >/dev/null
rm -rf /srv/agents /etc/sandy/sandy.conf "$auth"
[ -e /etc/sandy/sandy.conf.e2e-saved ] && mv /etc/sandy/sandy.conf.e2e-saved /etc/sandy/sandy.conf
tap_done
