#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandyctl without root or a running sandbox: verify's handling of temporary file names (Ansible's
# validate), exit statuses, --json of list/status/images/doctor and their tables (the same rows: null in
# JSON where the table says "-"), the completion's verbs against --help. TAP.
# Usage: test-cli.sh SANDYCTL BASH-COMPLETION ZSH-COMPLETION FISH-COMPLETION
set -u
sandyctl=$1 completion=$2 zsh_completion=$3 fish_completion=$4 n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else notok "$d"; fi; }
check_fails() { local d=$1; shift; if "$@" >/dev/null 2>&1; then notok "$d"; else ok "$d"; fi; }
# check_python DESC CODE ARG...: CODE's assertions hold for the ARGs (sys.argv[1:]); else its error and ARGs.
check_python() {
        local d=$1 code=$2 out
        shift 2
        if out=$(python3 -c "$code" "$@" 2>&1); then ok "$d"; else notok "$d: $out ($*)"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
good='[Image]
From=debootstrap:bookworm'
bad='[Image]
From=debootstrap:bookworm
[Network]
Mode=sideways'
mkdir -p "$tmp/decl"
printf '%s\n' "$good" >"$tmp/decl/one.sandbox"
printf '%s\n' "$bad" >"$tmp/decl/broken.sandbox"
export SANDY_SEARCH_PATH=$tmp/decl

# Temporary names as ansible-core hands them to validate: "source" (2.14) and ".source.sandbox" (2.19).
for name in source .source.sandbox tmpab12cd; do
        printf '%s\n' "$good" >"$tmp/$name"
        check "verify accepts a good temporary file named $name" "$sandyctl" verify "$tmp/$name"
        printf '%s\n' "$bad" >"$tmp/$name"
        check_fails "verify rejects a bad temporary file named $name" "$sandyctl" verify "$tmp/$name"
        out=$("$sandyctl" verify "$tmp/$name" 2>&1)
        if grep -q "^$tmp/$name:4: Mode=" <<<"$out"; then ok "  with file:line ($name)"; else notok "  with file:line ($name): $out"; fi
done
printf '%s\n' "$good" >"$tmp/not_valid.sandbox"
check_fails "a visible *.sandbox file must still have a valid sandbox name" "$sandyctl" verify "$tmp/not_valid.sandbox"

# A file name with a control character or invalid UTF-8, as the main file or a drop-in: refused with a
# message, never a crash (sandbox_verify() once read the empty file list: SIGSEGV, exit 139).
mkdir -p "$tmp/cc/good.sandbox.d"
printf '%s\n' "$good" >"$tmp/cc/good.sandbox"
printf '[Sandbox]\nDescription=x\n' >"$tmp/cc/good.sandbox.d/$(printf 'a\tb').conf"
for f in "$tmp/cc/$(printf 'x\ny').sandbox" "$tmp/cc/$(printf 'x\377y').sandbox"; do
        printf '%s\n' "$good" >"$f"
        out=$("$sandyctl" verify "$f" 2>&1); rc=$?
        if [ $rc = 1 ] && grep -qE "control characters or invalid UTF-8|not make a valid sandbox name" <<<"$out"; then
                ok "verify refuses a file name with a control character or invalid UTF-8"
        else
                notok "verify refuses a file name with a control character or invalid UTF-8 (exit $rc): $out"
        fi
        rm -f "$f"
done
out=$(SANDY_SEARCH_PATH=$tmp/cc "$sandyctl" verify good 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "control characters or invalid UTF-8" <<<"$out"; then
        ok "verify refuses a drop-in whose name has a control character"
else
        notok "verify refuses a drop-in whose name has a control character (exit $rc): $out"
fi

"$sandyctl" status nosuch >/dev/null 2>&1; rc=$?
[ $rc = 4 ] && ok "status of an undeclared sandbox exits 4" || notok "status of an undeclared sandbox exits 4 (got $rc)"
"$sandyctl" start 'bad/name' >/dev/null 2>&1; rc=$?
[ $rc = 4 ] && ok "start of an invalid name exits 4" || notok "start of an invalid name exits 4 (got $rc)"
"$sandyctl" frobnicate >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && ok "an unknown verb exits 1" || notok "an unknown verb exits 1 (got $rc)"

out=$("$sandyctl" --json=short list 2>/dev/null)
check_python "list --json: every declaration, broken ones as state error" '
import json, sys
rows = {r["name"]: r for r in json.loads(sys.argv[1])}
assert set(rows) == {"one", "broken"}, rows
assert rows["broken"]["state"] == "error", rows
assert rows["one"]["mode"] == "lenient" and rows["one"]["workspace"] is None, rows' "$out"
out=$(NO_COLOR= "$sandyctl" list 2>/dev/null)
if ! grep -q $'\e' <<<"$out"; then ok "list: no escape sequences when not on a terminal"; else notok "list: colour in a pipe"; fi
out=$("$sandyctl" --json=pretty doctor 2>/dev/null)
check_python "doctor --json=pretty is a list of checks" 'import json, sys; assert all({"check","status","required","detail"} <= set(c) for c in json.loads(sys.argv[1]))' "$out"

# The table and the JSON are drawn from the same rows: JSON says null where the table says "-", and never
# carries a display string.
out=$("$sandyctl" --json=short list 2>/dev/null)
check_python "list --json: null (or absent) where nothing is known, no \"-\"" '
import json, sys
rows = json.loads(sys.argv[1])
assert all(v not in ("-", "unknown", "") for r in rows for v in r.values()), rows
b = next(r for r in rows if r["name"] == "broken")
assert b["image"] is None and b["address"] is None and b["workspace"] is None and "mode" not in b, b' "$out"
out=$("$sandyctl" list 2>/dev/null)
if grep -qE '^broken +error +- +- +- +- +- +-$' <<<"$out" && grep -qE '^one +[^ ]+ +[0-9a-f]{12} +lenient +- +- +- +-$' <<<"$out" &&
   grep -qx '2 sandboxes listed\.' <<<"$out"; then
        ok "list: the table shows \"-\" for what is unknown"
else
        notok "list table: $out"
fi
out=$("$sandyctl" --json=short status one 2>/dev/null)
check_python "status --json: no \"unknown\" placeholders" '
import json, sys
s = json.loads(sys.argv[1])[0]
assert s["state"] in (None, "active", "inactive", "failed", "activating", "deactivating", "reloading"), s
assert s["substate"] != "unknown" and s["workspace"] is None and len(s["image"]) == 64, s' "$out"
json=$("$sandyctl" --json=short images 2>/dev/null) table=$("$sandyctl" images 2>/dev/null)
check_python "images: the table shows what the JSON says" '
import json, sys
images = json.loads(sys.argv[1])
lines = sys.argv[2].splitlines()
assert lines[0].split() == ["IMAGE", "BUILT", "SIZE", "SOURCE", "SANDBOXES"], lines
for i in images:
    built = "-" if i["built"] is None else "yes" if i["built"] else "no"
    want = [(i["id"] or "?")[:12], built, "-" if i["size"] is None else None, i["source"] or "(unused)"] + i["sandboxes"]
    assert any(all(w is None or w == g for w, g in zip(want, l.split())) and len(l.split()) == len(want)
               for l in lines[1:]), (want, lines)
assert [i["sandboxes"] for i in images if i["source"]] == [["one"]], images' "$json" "$table"
json=$("$sandyctl" --json=short doctor 2>/dev/null) table=$("$sandyctl" doctor 2>/dev/null)
check_python "doctor: the table shows what the JSON says, with the fix under each problem" '
import json, re, sys
checks = json.loads(sys.argv[1])
lines = sys.argv[2].splitlines()
for c in checks:
    required = "yes" if c["required"] else "no"
    row = next(i for i, l in enumerate(lines)
               if re.match(re.escape(c["check"]) + " +" + c["status"] + " +" + required + " ", l))
    if c.get("fix"):
        assert lines[row + 1].strip() == "-> " + c["fix"], (c, lines[row + 1])' "$json" "$table"

# Every JSON object has each key once (a table column and a JSON field added twice would not show).
for verb in list "status one" images doctor; do
        # shellcheck disable=SC2086  # the verb and its argument
        out=$("$sandyctl" --json=short $verb 2>/dev/null)
        check_python "$verb --json: no key twice" '
import json, sys
def once(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)
json.loads(sys.argv[1], object_pairs_hook=once)' "$out"
done

# doctor reads sandy.conf like the helper: a typo there is "missing" (every network setup would fail).
printf '[Network]\nStopDNSRebnd=no\n' >"$tmp/bad.conf"
out=$(SANDY_CONFIG=$tmp/bad.conf "$sandyctl" --json=short doctor 2>/dev/null)
check_python "doctor: a typo in sandy.conf is a required check missing" '
import json, sys
c = {r["check"]: r for r in json.loads(sys.argv[1])}["sandy.conf"]
assert c["status"] == "missing" and c["required"] and "has errors" in c["detail"], c' "$out"
: >"$tmp/good.conf"
out=$(SANDY_CONFIG=$tmp/good.conf "$sandyctl" --json=short doctor 2>/dev/null)
check_python "doctor: and an empty one is fine" '
import json, sys
assert {r["check"]: r for r in json.loads(sys.argv[1])}["sandy.conf"]["status"] == "ok"' "$out"

# --no-legend and --quiet: listings for scripts.
out=$("$sandyctl" --no-legend list 2>/dev/null)
if ! grep -q "^NAME" <<<"$out" && ! grep -q "listed" <<<"$out" && grep -q "^one " <<<"$out"; then
        ok "list --no-legend: rows only"
else
        notok "list --no-legend: $out"
fi
out=$("$sandyctl" -q list 2>/dev/null)
[ "$out" = "$(printf 'broken\none')" ] && ok "list --quiet: the names, one a line" || notok "list --quiet: $out"
out=$("$sandyctl" --quiet images 2>/dev/null)
grep -qxE '[0-9a-f]{64}' <<<"$out" && ok "images --quiet: full image IDs" || notok "images --quiet: $out"

# verify: a typo or a misplaced key is an error with a hint (never ignored: Mode=strict in [Sandbox] would
# leave the sandbox lenient); X- keys pass.
printf '[Sandbox]\nMode=strict\n[Image]\nFrom=debootstrap:bookworm\n' >"$tmp/misplaced.sandbox"
out=$("$sandyctl" verify "$tmp/misplaced.sandbox" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "misplaced.sandbox:2: Mode= belongs in [Network], not [Sandbox]." <<<"$out"; then
        ok "verify: a key in the wrong section fails, naming its section"
else
        notok "verify: a key in the wrong section (exit $rc): $out"
fi
printf '[Sandbox]\nX-Team=ops\n[Image]\nFrom=debootstrap:bookworm\n' >"$tmp/xkey.sandbox"
check "verify: an X- key passes" "$sandyctl" verify "$tmp/xkey.sandbox"

# verify: what the declaration names must exist here, and it says what it checked.
printf '[Image]\nFrom=debootstrap:bookworm\nSetup=%s/nosuch.sh\n' "$tmp" >"$tmp/setup.sandbox"
out=$("$sandyctl" verify "$tmp/setup.sandbox" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "setup.sandbox:3: Setup= $tmp/nosuch.sh: No such file or directory." <<<"$out"; then
        ok "verify: a missing Setup= script fails"
else
        notok "verify: a missing Setup= script (exit $rc): $out"
fi
printf '#!/bin/sh\n' >"$tmp/nosuch.sh"
out=$("$sandyctl" verify "$tmp/setup.sandbox" 2>/dev/null); rc=$?
if [ $rc = 0 ] && grep -qF "Setup= $tmp/nosuch.sh exists." <<<"$out"; then
        ok "verify: and says it checked it, once it is there"
else
        notok "verify: a present Setup= script (exit $rc): $out"
fi
printf '[Sandbox]\nCredential=key:%s/nokey\n[Image]\nFrom=oci-archive:%s/no.tar\n' "$tmp" "$tmp" >"$tmp/cred.sandbox"
out=$("$sandyctl" verify "$tmp/cred.sandbox" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "cred.sandbox:2: Credential= $tmp/nokey: No such file" <<<"$out" &&
   grep -qF "cred.sandbox:4: From= $tmp/no.tar: No such file" <<<"$out"; then
        ok "verify: a missing Credential= source and From= archive fail"
else
        notok "verify: missing Credential= and From= (exit $rc): $out"
fi
printf '[Sandbox]\nWorkspace=%s/nows\n[Image]\nFrom=debootstrap:bookworm\n' "$tmp" >"$tmp/ws.sandbox"
out=$("$sandyctl" verify "$tmp/ws.sandbox" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "ws.sandbox:2: Workspace= $tmp/nows does not exist" <<<"$out"; then
        ok "verify: a missing workspace fails"
else
        notok "verify: a missing workspace (exit $rc): $out"
fi
check "verify --offline: the declaration alone passes" "$sandyctl" verify --offline "$tmp/ws.sandbox"
mkdir "$tmp/realws" && ln -s realws "$tmp/nows"
out=$("$sandyctl" verify "$tmp/ws.sandbox" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "Workspace= $tmp/nows is a symlink or lies below one" <<<"$out"; then
        ok "verify: a workspace that is a symlink fails"
else
        notok "verify: a symlinked workspace (exit $rc): $out"
fi
rm "$tmp/nows" && mv "$tmp/realws" "$tmp/nows"
out=$("$sandyctl" verify "$tmp/ws.sandbox" 2>&1); rc=$?
if [ "$(id -u)" = 0 ]; then
        # Root's own directory: refused before anything is mounted (no idmap test on the build host).
        if [ $rc = 1 ] && grep -qF "Workspace= $tmp/nows belongs to root" <<<"$out"; then
                ok "verify: a workspace of root's fails"
        else
                notok "verify: a workspace of root's (exit $rc): $out"
        fi
elif [ $rc = 0 ] && grep -qF "Workspace= $tmp/nows is a directory of $(id -un) (UID $(id -u)) on " <<<"$out"; then
        ok "verify: a workspace of this user's passes and says what was checked"
else
        notok "verify: a workspace of this user's (exit $rc): $out"
fi
out=$("$sandyctl" -H nowhere.invalid verify "$tmp/ws.sandbox" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "is a file here" <<<"$out"; then
        ok "verify -H refuses a local file, with the reason"
else
        notok "verify -H with a file (exit $rc): $out"
fi
"$sandyctl" images frobnicate >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && ok "images with an unknown subcommand exits 1" || notok "images frobnicate exits $rc"
"$sandyctl" images rm >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && ok "images rm without an argument exits 1" || notok "images rm without arguments exits $rc"

# Every verb in --help is completed, and the completion offers nothing --help does not know (exec, reset and
# egress come from other parts and may be missing from --help while they are being written).
help_verbs=$("$sandyctl" --help | sed -n '/^Commands:/,/^Options:/p' | sed -n 's/^  \([a-z]\+\).*/\1/p' | sort -u)
comp_verbs=$(set +u; . "$completion"; COMP_WORDS=(sandyctl ""); COMP_CWORD=1; _sandyctl; printf '%s\n' "${COMPREPLY[@]}" | sort -u)
missing=$(comm -23 <(echo "$help_verbs") <(echo "$comp_verbs"))
if [ -z "$missing" ]; then ok "the completion knows every verb of --help"; else notok "not completed: $missing"; fi
comp_opts=$(set +u; . "$completion"; COMP_WORDS=(sandyctl --); COMP_CWORD=1; _sandyctl; printf '%s\n' "${COMPREPLY[@]}")
if grep -qx -- --no-legend <<<"$comp_opts" && grep -qx -- --quiet <<<"$comp_opts"; then
        ok "the bash completion knows --no-legend and --quiet"
else
        notok "bash completion options: $comp_opts"
fi
comp=$(set +u; . "$completion"; COMP_WORDS=(sandyctl images ""); COMP_CWORD=2; _sandyctl; printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
[ "$comp" = "list prune rm " ] && ok "the bash completion knows images list, rm, prune" || notok "images: $comp"
# zsh and fish: the same verbs (their own descriptions); their syntax when the shells are installed.
zsh_verbs=$(sed -n "s/^ *'\([a-z]*\):.*/\1/p" "$zsh_completion" | sort -u)
fish_verbs=$(sed -n 's/.*__sandyctl_verbs" -a \([a-z]*\) .*/\1/p' "$fish_completion" | sort -u)
for shell in zsh fish; do
        [ "$shell" = zsh ] && have=$zsh_verbs || have=$fish_verbs
        missing=$(comm -23 <(echo "$help_verbs") <(echo "$have"))
        if [ -z "$missing" ]; then ok "the $shell completion knows every verb of --help"; else notok "$shell misses: $missing"; fi
done
if command -v zsh >/dev/null; then check "the zsh completion parses" zsh -n "$zsh_completion"; fi
if command -v fish >/dev/null; then
        check "the fish completion parses" fish -n "$fish_completion"
        out=$(fish -c "source '$fish_completion'; complete -C 'sandyctl start '" 2>&1)
        [ "$out" = "$(printf 'broken\none')" ] && ok "fish completes declared names" || notok "fish names: $out"
fi

echo "1..$n"
[ $failed = 0 ]
