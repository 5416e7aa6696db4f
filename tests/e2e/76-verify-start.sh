#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16, as root: a typo never silently weakens a sandbox (a misplaced key in a drop-in is refused by
# verify and the sandbox is not generated); verify checks the workspace and says what it checked; doctor
# checks PID 1, the cgroup controllers and each workspace; the first "sandyctl start" builds the image with
# the progress bar and then runs it, and "systemctl start" logs the build's progress in the unit's journal;
# a failed start says why on the terminal (never "canceled"), and the network units follow the sandbox;
# status shows resources, whether the declaration on disk is what systemd loaded, and egress in lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

# --- a misplaced key in a drop-in: refused by verify (exit 1) and not generated
declare_fixture_sandbox typo "Description=typo test"
tap_check "positive control: typo verifies" sandyctl verify typo
tap_check "positive control: typo is generated" test -f /run/systemd/generator/sandy@typo.service.d/10-sandy.conf
mkdir -p /etc/sandy.d/typo.sandbox.d
printf '[Sandbox]\nMode=strict\n' >/etc/sandy.d/typo.sandbox.d/50-strict.conf
cursor=$(journal_cursor)
systemctl daemon-reload
out=$(sandyctl verify typo 2>&1); rc=$?
tap_check "verify refuses Mode= in [Sandbox] (exit 1), saying where it belongs" status_is "$rc" 1 \
        output_matches "$out" "^/etc/sandy.d/typo.sandbox.d/50-strict.conf:2: Mode= belongs in \[Network\], not \[Sandbox\]\.$"
out=$(sandyctl verify --dropin /etc/sandy.d/typo.sandbox.d/50-strict.conf 2>&1); rc=$?
tap_check "verify --dropin refuses the drop-in alone too" status_is "$rc" 1
tap_check "the generator did not generate typo" absent /run/systemd/generator/sandy@typo.service.d \
        /run/systemd/generator/sandy/typo.nspawn
tap_check "and said why in the journal" wait_for 10 journal_since_has "$cursor" \
        "/etc/sandy.d/typo.sandbox.d/50-strict.conf:2: Mode= belongs in [Network], not [Sandbox]."
out=$(timeout 60 sandyctl start typo 2>&1); rc=$?
tap_check "typo does not start" status_is "$rc" 1 unit_inactive sandy@typo.service
printf '[Network]\nMode=strictt\n' >/etc/sandy.d/typo.sandbox.d/50-strict.conf
out=$(sandyctl verify typo 2>&1); rc=$?
tap_check "a misspelt value is refused too" status_is "$rc" 1 output_matches "$out" "Mode= must be one of"
printf '[Netwrk]\nMode=strict\n' >/etc/sandy.d/typo.sandbox.d/50-strict.conf
out=$(sandyctl verify typo 2>&1); rc=$?
tap_check "a misspelt section: did you mean [Network]?" status_is "$rc" 1 \
        output_matches "$out" "50-strict.conf:2: Mode= is in an unknown section \[Netwrk\]; did you mean \[Network\]\?"
printf '[Network]\nMode=strict\n' >/etc/sandy.d/typo.sandbox.d/50-strict.conf
systemctl daemon-reload
tap_check "once in [Network], typo verifies" sandyctl verify typo
tap_check "and is generated, strict" file_matches /run/systemd/generator/sandy@typo.service.d/10-sandy.conf "Description"
tap_check "  (Mode=strict in effect)" output_matches "$(sandyctl cat typo)" "^Mode=strict$"
remove_sandbox typo

# --- verify and doctor look at the workspace: a tmpfs takes idmapped mounts, the test host's overlayfs
# root does not; a root-owned directory is refused before anything is tried.
make_workspace /srv/e2e-ws76
mkdir -p /srv/e2e-ovl76 /srv/e2e-root76
chown alice:alice /srv/e2e-ovl76
declare_fixture_sandbox ws76 Workspace=/srv/e2e-ws76
out=$(sandyctl verify ws76 2>&1); rc=$?
tap_check "verify: a tmpfs workspace of alice's passes, and verify says what it checked" status_is "$rc" 0 \
        output_matches "$out" "Workspace= /srv/e2e-ws76 is a directory of alice \(UID 1001\) on tmpfs; idmapped mounts work\."
out=$(sandyctl --json=short doctor)
tap_check "doctor: the workspace of ws76 is ok, with systemd as PID 1 and the controllers checked" python3 -c '
import json, sys
c = {r["check"]: r for r in json.loads(sys.argv[1])}
assert c["workspace of ws76"]["status"] == "ok" and "idmapped mounts work" in c["workspace of ws76"]["detail"], c
assert c["systemd as PID 1"]["status"] == "ok", c
assert c["cgroup controllers"]["status"] in ("ok", "warning") and c["cgroup controllers"]["detail"], c' "$out"
sed -i 's,^Workspace=.*,Workspace=/srv/e2e-ovl76,' /etc/sandy.d/ws76.sandbox
out=$(sandyctl verify ws76 2>&1); rc=$?
tap_check "verify: a workspace on overlayfs fails (no idmapped mounts there)" status_is "$rc" 1 \
        output_matches "$out" "ws76.sandbox:2: Workspace= /srv/e2e-ovl76 is on overlayfs, which does not take idmapped mounts"
out=$(sandyctl --json=short doctor)
tap_check "doctor: and says so for ws76" python3 -c '
import json, sys
c = {r["check"]: r for r in json.loads(sys.argv[1])}
w = c["workspace of ws76"]
assert w["status"] == "missing" and w["required"] and "idmapped" in w["detail"] and w["fix"], w' "$out"
sed -i 's,^Workspace=.*,Workspace=/srv/e2e-root76,' /etc/sandy.d/ws76.sandbox
out=$(sandyctl verify ws76 2>&1); rc=$?
tap_check "verify: a workspace of root's fails" status_is "$rc" 1 output_matches "$out" "e2e-root76 belongs to root"
sed -i 's,^Workspace=.*,Workspace=/srv/e2e-nonexistent76,' /etc/sandy.d/ws76.sandbox
out=$(sandyctl verify ws76 2>&1); rc=$?
tap_check "verify: a missing workspace fails" status_is "$rc" 1 output_matches "$out" "e2e-nonexistent76 does not exist"
systemctl daemon-reload

# --- a failed start says why, and the network units go with it (Mode=lenient: sandy-net@, sandy-dns@).
# The missing workspace used to end in "Job for sandy@ws76.service canceled." (sandy-net@ was BindsTo=
# the sandbox, and its stop came back through Requires= and canceled the failed start job).
sed -i 's/^Mode=none/Mode=lenient/' /etc/sandy.d/ws76.sandbox
systemctl daemon-reload
out=$(timeout 120 systemctl start sandy@ws76.service 2>&1); rc=$?
tap_check "systemctl start of a sandbox without its workspace fails" status_is "$rc" 1
tap_check "  and says failed, not canceled" output_lacks "$out" "canceled"
tap_check "  (\"failed because the control process exited\")" output_matches "$out" "failed because the control process"
tap_check "the network units do not stay up after the failed start" \
        wait_for 30 both_inactive sandy-net@ws76.service sandy-dns@ws76.service
out=$(timeout 120 sandyctl start ws76 2>&1); rc=$?
tap_check "sandyctl start fails too (exit 1)" status_is "$rc" 1
tap_check "  and prints sandy-prepare's reason on the terminal" \
        output_matches "$out" "sandy-prepare: Workspace /srv/e2e-nonexistent76 of sandbox ws76: No such file or directory"
tap_check "  with the unit's result" output_matches "$out" "^Job for sandy@ws76.service failed \(result: exit-code\)\.$"
out=$(sandyctl status ws76); rc=$?
tap_check "status keeps the last error" status_is "$rc" 3 output_matches "$out" "Last error: exit-code" \
        "sandy-prepare: Workspace /srv/e2e-nonexistent76"

# Positive control: with its workspace, the same sandbox starts, its network is up, and a stop (and a
# crash) takes the network units down with it.
sed -i 's,^Workspace=.*,Workspace=/srv/e2e-ws76,' /etc/sandy.d/ws76.sandbox
systemctl daemon-reload
systemctl reset-failed sandy@ws76.service sandy-net@ws76.service sandy-dns@ws76.service 2>/dev/null
tap_check "with its workspace, ws76 starts" timeout 120 sandyctl start ws76
tap_check "  its network units are up" systemctl is-active -q sandy-net@ws76.service sandy-dns@ws76.service
out=$(sandyctl status ws76); rc=$?
tap_check "status: running, with memory, CPU and tasks" status_is "$rc" 0 \
        output_matches "$out" "^ +Memory: " "^ +CPU: [0-9.]+s" "^ +Tasks: [0-9]+"
tap_check "status: egress in lines, not the helper's JSON" output_matches "$out" "^ +Egress: address [0-9.]+" "nft rules in force"
tap_check "  (no JSON and no raw nft rules)" output_lacks "$out" '[{}]|"address4"|chain '
tap_check "status: the declaration is what systemd has loaded" output_matches "$out" "^ +Declaration: [0-9a-f]{12}, as systemd has it loaded$"
echo "# edited" >>/etc/sandy.d/ws76.sandbox
out=$(sandyctl status ws76)
tap_check "status: an edit without daemon-reload is said, with what to do" \
        output_matches "$out" "^ +Declaration: changed on disk since the last daemon-reload: run \"systemctl daemon-reload\", then restart"
out=$(sandyctl --json=short status ws76)
tap_check "status --json: declaration_current false, numbers for CPU and tasks" json_check "$out" '
s = j[0]
assert s["declaration_current"] is False and len(s["declaration_digest"]) == 64, s
assert isinstance(s["cpu_usage_nsec"], int) and isinstance(s["tasks_current"], int), s
assert "memory_current" in s, s'
systemctl daemon-reload
tap_check "sandyctl stop ws76" timeout 120 sandyctl stop ws76
tap_check "  takes its network units down" wait_for 30 both_inactive sandy-net@ws76.service sandy-dns@ws76.service
tap_check "started again" timeout 120 sandyctl start ws76
systemctl kill --signal=KILL sandy@ws76.service
tap_check "a killed sandbox takes its network units down" \
        wait_for 30 both_inactive sandy@ws76.service sandy-net@ws76.service sandy-dns@ws76.service
remove_sandbox ws76

# --- the first start builds the image, with progress, then runs (own recipes: User= differs)
if busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 '; then
        fixture_declaration User=first76 | declare_sandbox first76
        tap_check "positive control: first76's image is not built" image_not_built first76
        out=$(timeout 600 script -qec "sandyctl start first76" /dev/null </dev/null 2>&1 | tr '\r' '\n'); rc=$?
        tap_check "sandyctl start builds the image first, with the progress bar, and starts" \
                status_is "$rc" 0 output_matches "$out" "^first76 \[#+\] 100%" "Image of first76 is ready"
        tap_check "  and the sandbox runs" systemctl is-active -q sandy@first76.service
        tap_check "  the image is built" image_built first76
        fixture_declaration User=second76 | declare_sandbox second76
        cursor=$(journal_cursor)
        tap_check "systemctl start builds a missing image in sandy-prepare" timeout 600 systemctl start sandy@second76.service
        out=$(journalctl --after-cursor="$cursor" -u sandy@second76.service --no-pager -o cat | grep "^Building the image of second76: ")
        tap_check "  and logs its progress in the unit's journal, in a few lines" \
                output_matches "$out" "^Building the image of second76: +0% " "^Building the image of second76: 100% "
        tap_check "  (at most one a tenth or a phase)" test "$(grep -c . <<<"$out")" -le 25
        tap_diag "$out"
        stop_and_remove first76 second76
else
        tap_skip "sandy-helper is not installed: builds not tested"
fi
drop_workspace /srv/e2e-ws76
rmdir /srv/e2e-ovl76 /srv/e2e-root76
tap_done
