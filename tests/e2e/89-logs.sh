#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16 (and 15: members "see logs" of their sandboxes): sandyctl logs for members of group sandy, who
# cannot read the system journal, through sandy-helper's Logs: alice reads her sandbox's journal (the
# units' and the one the sandbox keeps itself), also with -f, which ends with the reader; she is refused
# bob's, carol (no member) is refused, root may. What the sandbox wrote is shown with its control characters
# escaped. Its own journal is read so that no symlink the sandbox plants there shows the host's journal.
# The readers end with the caller: when it closes the read ends, and when its bus connection goes although
# it keeps them.
# Options outside the allowlist are refused. And the stop prints what the session changed in protected
# paths, which status keeps.
# On 2698d7b sandyctl logs executes journalctl as the caller: alice sees none of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
[ -f /usr/share/polkit-1/rules.d/sandy.rules ] || { tap_skip "sandy.rules not installed"; tap_done; exit; }
busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 ' ||
        { tap_skip "sandy-helper is not installed"; tap_done; exit; }

ensure_members alice bob
ensure_user carol
alice=$(id -u alice)
ws=/srv/e2e-ws89
make_workspace "$ws" alice
fixture_declaration "Workspace=$ws" | declare_sandbox lg89
fixture_declaration Owner=bob | declare_sandbox bo89
fixture_declaration Owner=bob AllowUsers=alice | declare_sandbox au89
fixture_declaration Owner=bob "AllowGroups=$(id -gn alice)" | declare_sandbox ag89
tap_check "the image is seeded, with probes" seed_logs_probes lg89
tap_check "root: sandyctl start lg89" timeout 120 sandyctl start lg89
tap_check "  its own journald runs" wait_for 60 machinectl --quiet shell lg89 /bin/systemctl is-active systemd-journald

# --- who may read what
out=$(sandyctl --no-pager logs -n all lg89 2>&1); rc=$?
tap_check "root: logs shows lg89's start" status_is "$rc" 0 output_matches "$out" "Started sandy@lg89.service"
out=$(as_user alice sandyctl --no-ask-password --no-pager logs -n all lg89 2>&1); rc=$?
tap_check "alice: logs of her lg89 shows its start" status_is "$rc" 0 output_matches "$out" "Started sandy@lg89.service"
out=$(as_user bob sandyctl --no-ask-password --no-pager logs -n all bo89 2>&1); rc=$?
tap_check "positive control: bob reads the journal of his bo89" status_is "$rc" 0 output_lacks "$out" "Access denied"
tap_check "alice: logs of bob's bo89 is refused" refused as_user alice sandyctl --no-ask-password --no-pager logs bo89
tap_check "bob: logs of alice's lg89 is refused" refused as_user bob sandyctl --no-ask-password --no-pager logs lg89
out=$(as_user alice sandyctl --no-ask-password --no-pager logs -n all au89 2>&1); rc=$?
tap_check "alice: logs of bob's au89 (AllowUsers=alice) works" status_is "$rc" 0 output_lacks "$out" "Access denied"
out=$(as_user alice sandyctl --no-ask-password --no-pager logs -n all ag89 2>&1); rc=$?
tap_check "alice: logs of bob's ag89 (AllowGroups= her group) works" status_is "$rc" 0 output_lacks "$out" "Access denied"
tap_check "carol (no member): logs of lg89 is refused" refused as_user carol sandyctl --no-ask-password --no-pager logs lg89
tap_check "carol: logs of bo89 is refused" refused as_user carol sandyctl --no-ask-password --no-pager logs bo89
tap_check "alice's readers are gone once they are done" wait_for 10 no_logs_units_of "$alice"

# --- the allowlist: only the sandbox's units and its own journal, only these options
logs_call() { # logs_call USER NAME OPTION...: sandy-helper's Logs, directly
        local u=$1 n=$2
        shift 2
        as_user "$u" busctl --timeout=30 -- call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.State Logs \
                sas "$n" $# "$@"
}
tap_check "positive control: alice's Logs call with allowed options works" logs_call alice lg89 --lines=5 --output=short-iso
tap_check "bob: his Logs call on alice's lg89 is refused" refused logs_call bob lg89 --lines=5
for n in 'lg*' 'lg89.service --unit=ssh' '../lg89'; do
        out=$(logs_call bob "$n" --lines=5 2>&1); rc=$?
        tap_check "bob: Logs of \"$n\" (a glob, an option, a path) is refused as no sandbox name" \
                status_is "$rc" 1 output_matches "$out" "is not a valid sandbox name"
done
for o in --unit=sandy@bo89.service --directory=/var/log/journal --file=/var/log/journal --merge --machine=bo89 \
        --output=verbose "--since=\$(id)" "--lines=1 --unit=x" --root=/ --grep=x; do
        out=$(logs_call alice lg89 "$o" 2>&1); rc=$?
        tap_check "alice: Logs with \"$o\" is refused as an invalid argument" \
                status_is "$rc" 1 output_matches "$out" "Unsupported option|Invalid value"
done
out=$(as_user alice sandyctl --no-pager logs -o verbose lg89 2>&1); rc=$?
tap_check "sandyctl logs -o verbose as alice says which formats she may use" status_is "$rc" 1 \
        output_matches "$out" "Invalid value in \"--output=verbose\""
out=$(as_user alice sandyctl --no-pager logs -n 3 -o json lg89 2>&1); rc=$?
tap_check "alice: -o json gives one JSON object a line" status_is "$rc" 0 python3 -c '
import json, sys
lines = [l for l in sys.argv[1].splitlines() if l]
assert lines, "no output"
for l in lines:
    assert isinstance(json.loads(l), dict), l' "$out"
out=$(as_user alice sandyctl --no-pager logs -n all -p err lg89 2>&1); rc=$?
tap_check "alice: -p err leaves out the informational start line" status_is "$rc" 0 \
        output_lacks "$out" "Started sandy@lg89.service"

# --- what the sandbox wrote on its console reaches the reader escaped
tap_check "the sandbox writes escape sequences (a window title, red, a C1 CSI) to its console" \
        machinectl --quiet shell lg89 /usr/local/bin/sandy-test-console '\033]0;e2e89-title\007\033[31me2e89-red\302\233X\n'
tap_check "positive control: the raw bytes are in the journal" \
        wait_for 10 journal_raw_has sandy@lg89.service "$(printf '\033]0;e2e89-title\007')"
for u in alice root; do
        if [ $u = root ]; then out=$(sandyctl --no-pager logs -n all lg89 2>&1); else
                out=$(as_user alice sandyctl --no-pager logs -n all lg89 2>&1); fi
        tap_check "$u: logs shows the console line with its control characters escaped" \
                output_matches "$out" '\\x1b\]0;e2e89-title\\x07\\x1b\[31me2e89-red\\u009bX$'
        tap_check "$u:   and no ESC byte at all" output_lacks "$out" $'\e'
        tap_check "$u:   nor a C1 control" output_lacks "$out" $'\xc2\x9b'
done

# --- -f: new lines as they come, until the reader goes away
f=/tmp/e2e-follow89.out
pid=$(follow_logs_start alice lg89 "$f")
tap_check "alice: logs -f runs her two readers (the units' journal and the sandbox's own)" \
        wait_for 20 logs_units_count_is "$alice" 2
machinectl --quiet shell lg89 /usr/local/bin/sandy-test-console 'e2e89-follow-console\n' >/dev/null
machinectl --quiet shell lg89 /usr/local/bin/sandy-test-journal e2e89-follow-inside >/dev/null
tap_check "  a console line written after it started arrives" wait_for 20 grep -q e2e89-follow-console "$f"
tap_check "  and a line of the sandbox's own journal" wait_for 20 grep -q e2e89-follow-inside "$f"
kill "$pid"
tap_check "closing the reader ends both readers" wait_for 20 no_logs_units_of "$alice"
tap_check "  and their journalctl processes" wait_for 10 no_process_matching "journalctl.*lg89"
tap_diag "$(head -c 2000 "$f")"
rm -f "$f"

# --- a caller that keeps the read ends (unread, or passed on) but closes its bus connection
st=/tmp/e2e-hold89.state
pid=$(logs_hold_start alice lg89 "$st")
tap_check "alice: her own D-Bus client calls Logs lg89 --follow and gets both read ends" \
        wait_for 30 file_matches "$st" "^ready 2$"
tap_check "  positive control: her two readers run while she is connected" wait_for 20 logs_units_count_is "$alice" 2
kill -USR1 "$pid"
tap_check "  she closes her bus connection" wait_for 10 file_matches "$st" "^closed$"
tap_check "  her readers end with the connection" wait_for 20 no_logs_units_of "$alice"
tap_check "  though she still holds the read ends" holds_pipes "$pid" 2
tap_check "  and their journalctl processes" wait_for 10 no_process_matching "journalctl.*lg89"
tap_diag "$(cat "$st")"
kill "$pid"
rm -f "$st"

# --- the sandbox's own journal, and what the sandbox can do to it
mark=e2e89-inside-$RANDOM
machinectl --quiet shell lg89 /usr/local/bin/sandy-test-journal "$mark" >/dev/null
tap_check "alice: logs has the journal lg89 keeps itself, under its own heading" \
        wait_for 20 logs_show alice lg89 "^-- The journal sandbox lg89 keeps itself --$" "e2e-inside.*$mark"
secret=e2e89-host-secret-$RANDOM
echo "$secret" | systemd-cat -t e2e89-host
tap_check "positive control: the host's journal has a line of its own" wait_for 10 journal_tag_has e2e89-host "$secret"
hostid=$(cat /etc/machine-id)
out=$(machinectl --quiet shell lg89 /usr/local/bin/sandy-test-journal-links "$hostid" 2>&1)
tap_check "the sandbox links the host's journal into its own journal directory" \
        output_matches "$out" "host.journal -> /var/log/journal/$hostid/system.journal"
tap_diag "$out"
mark2=e2e89-inside2-$RANDOM
machinectl --quiet shell lg89 /usr/local/bin/sandy-test-journal "$mark2" >/dev/null
tap_check "alice: logs still shows the sandbox's own journal" wait_for 20 logs_show alice lg89 "$mark2"
out=$(as_user alice sandyctl --no-pager logs -n all lg89 2>&1)
tap_check "  but never the host's journal through the links" output_lacks "$out" "$secret"
out=$(machinectl --quiet shell lg89 /usr/local/bin/sandy-test-journal-swap 2>&1)
tap_check "the sandbox replaces its journal directory by a symlink to the host's" \
        output_matches "$out" "/var/log/journal -> /var/log/./journal"
out=$(as_user alice sandyctl --no-pager logs -n all lg89 2>&1); rc=$?
tap_check "alice: logs still shows the units' journal" status_is "$rc" 0 output_matches "$out" "Started sandy@lg89.service"
tap_check "  and not the host's journal through the symlink" output_lacks "$out" "$secret"
out=$(sandyctl --no-pager logs -n all lg89 2>&1)
tap_check "root: the sandbox's own journal does not show the host's journal either" \
        python3 -c 'import sys; t = sys.argv[1]; i = t.find("-- The journal sandbox lg89 keeps itself --")
assert i < 0 or sys.argv[2] not in t[i:], t[i:]' "$out" "$secret"

# --- the stop prints what the session changed in protected paths; status keeps it
tap_check "the agent creates .envrc (a protected path) in the workspace" as_agent lg89 sh -c 'echo "echo hi" > .envrc'
out=$(as_user alice timeout 120 sandyctl --no-ask-password stop lg89 2>&1); rc=$?
tap_check "alice: sandyctl stop lg89 prints what the session changed in protected paths" status_is "$rc" 0 \
        output_matches "$out" "lg89: its session changed protected paths" "\.envrc"
tap_diag "$out"
out=$(as_user alice sandyctl --no-pager status lg89 2>&1)
tap_check "  and sandyctl status keeps it" output_matches "$out" "^ +Report: " "\.envrc"
tap_check "alice: start lg89 again" as_user alice timeout 120 sandyctl --no-ask-password start lg89
out=$(as_user alice timeout 120 sandyctl --no-ask-password stop lg89 2>&1); rc=$?
tap_check "a session that changed nothing: the stop prints no report" status_is "$rc" 0 \
        output_lacks "$out" "changed protected paths"
out=$(as_user alice timeout 120 sandyctl --no-ask-password stop lg89 2>&1); rc=$?
tap_check "stopping a stopped sandbox prints none either" status_is "$rc" 0 output_lacks "$out" "changed protected paths"

remove_sandbox lg89
remove_sandbox bo89
remove_sandbox au89
remove_sandbox ag89
drop_workspace "$ws"
tap_done
