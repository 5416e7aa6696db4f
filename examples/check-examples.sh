#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped examples must pass `sandyctl verify`, and every Setup= they name must be a script this tree
# installs at that path (examples/setup/X.sh -> /usr/share/sandy/setup/X.sh, see meson.build). TAP. verify
# --offline: their workspaces and scripts are those of the host that runs them, not of this one.
# Usage: check-examples.sh SANDYCTL EXAMPLES_DIR
set -u
sandyctl=$1 dir=$2 n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

shopt -s nullglob
examples=("$dir"/*.sandbox)
[ ${#examples[@]} -ge 4 ] && ok "at least four examples" || notok "at least four examples (found ${#examples[@]})"
for f in "${examples[@]}"; do
        b=$(basename "$f")
        if out=$("$sandyctl" verify --offline "$f" 2>&1) && [ -z "$out" ]; then ok "$b passes sandyctl verify --offline, silently"
        else notok "$b passes sandyctl verify: $out"; fi
        while read -r setup; do
                [ -n "$setup" ] || continue
                case $setup in
                /usr/share/sandy/setup/*.sh)
                        src=$dir/setup/${setup#/usr/share/sandy/setup/}
                        if [ -x "$src" ] && grep -q "'setup/$(basename "$src")'" "$dir/meson.build"; then
                                ok "$b: Setup=$setup is installed from setup/$(basename "$src")"
                        else notok "$b: Setup=$setup has no installed script ($src)"; fi ;;
                *) notok "$b: Setup=$setup is not a script sandy installs" ;;
                esac
        done < <(sed -n 's/^Setup=//p' "$f")
done
for s in "$dir"/setup/*.sh; do
        if sh -n "$s"; then ok "$(basename "$s") parses"; else notok "$(basename "$s") parses"; fi
done
# The npm packages the agent examples promise.
for pair in claude-code:@anthropic-ai/claude-code codex:@openai/codex gemini-cli:@google/gemini-cli; do
        if grep -q "npm install --global ${pair#*:}\$" "$dir/setup/${pair%%:*}.sh"; then ok "${pair%%:*}.sh installs ${pair#*:}"
        else notok "${pair%%:*}.sh installs ${pair#*:}"; fi
        if grep -q "^npm install --global ${pair#*:}\$" "$dir/setup/${pair%%:*}.sh" && grep -qE '^[a-z]+ --version$' "$dir/setup/${pair%%:*}.sh"
        then ok "${pair%%:*}.sh checks that the agent runs"
        else notok "${pair%%:*}.sh checks that the agent runs"; fi
done
# Each agent example: strict, allowing its model API, keeping the agent's configuration (PersistHome=),
# protecting the agent's project settings, and built from Debian 13 (Node.js 20; see the examples).
for pair in claude-code:api.anthropic.com codex:api.openai.com gemini-cli:generativelanguage.googleapis.com; do
        ex=${pair%%:*}
        if eff=$(SANDY_SEARCH_PATH=$dir "$sandyctl" cat "$ex" 2>&1); then
                grep -qx 'Mode=strict' <<<"$eff" && ok "$ex is Mode=strict" || notok "$ex is Mode=strict"
                if grep '^AllowDomain=' <<<"$eff" | tr ' =' '\n\n' | grep -qx "${pair#*:}"; then ok "$ex allows ${pair#*:}"
                else notok "$ex allows ${pair#*:}"; fi
                grep -qx 'PersistHome=yes' <<<"$eff" && ok "$ex keeps the agent's home" || notok "$ex keeps the agent's home"
                grep -q '^ProtectPath=..*' <<<"$eff" && ok "$ex protects the agent's project settings" ||
                        notok "$ex protects the agent's project settings"
                grep -qx 'From=docker://debian:trixie' <<<"$eff" && ok "$ex is built from Debian 13" ||
                        notok "$ex is built from Debian 13"
        else
                notok "sandyctl cat $ex: $eff"
        fi
done
# The strict example's allowlist, as the effective declaration sees it.
if eff=$(SANDY_SEARCH_PATH=$dir "$sandyctl" cat strict 2>&1); then
        grep -qx 'Mode=strict' <<<"$eff" && ok "strict example is Mode=strict" || notok "strict example is Mode=strict"
        for d in api.anthropic.com api.openai.com generativelanguage.googleapis.com github.com api.github.com \
                codeload.github.com objects.githubusercontent.com registry.npmjs.org pypi.org \
                files.pythonhosted.org deb.debian.org; do
                if grep '^AllowDomain=' <<<"$eff" | tr ' =' '\n\n' | grep -qx "$d"; then ok "strict allows $d"
                else notok "strict allows $d"; fi
        done
else
        notok "sandyctl cat strict: $eff"
fi
echo "1..$n"
[ $failed -eq 0 ]
