#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16: sandyctl asks sandy-helper, systemd and machined instead of reading root's files, so a member
# of group sandy (alice) gets root's answers: images (the store is 0700), list --json with built true,
# status with memory, CPU and tasks, reset through the helper; images rm and prune (root; refused to a
# member with the reason); and -H works for every verb, or says why not.
# alice may act on "mem" because its workspace is hers: with issue 15's ownership rules (Owner=,
# AllowUsers=, by default the workspace's owner) that is what allows her; before them, group sandy is enough.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }
[ -f /usr/share/polkit-1/rules.d/sandy.rules ] || { tap_skip "sandy.rules not installed"; tap_done; exit; }
busctl list --activatable 2>/dev/null | grep -q '^org\.sandy\.Helper1 ' ||
        { tap_skip "sandy-helper is not installed"; tap_done; exit; }
getent group sandy >/dev/null || groupadd --system sandy
usermod -aG sandy alice

ws=/srv/e2e-ws77
make_workspace "$ws"
fixture_declaration "Workspace=$ws" Ephemeral=no User=mem77 | declare_sandbox mem
seed_image mem
tap_check "positive control: root sees mem's image built" image_built mem

# --- the image store is root's (0700); alice asks the helper
out=$(as_user alice sandyctl images 2>&1); rc=$?
tap_check "alice: sandyctl images works" status_is "$rc" 0 output_matches "$out" "^[0-9a-f]{12} +yes +[0-9.]+[KMG] .* mem$"
tap_check "  (not \"Permission denied\")" output_lacks "$out" "Permission denied"
out=$(as_user alice sandyctl --json=short images)
tap_check "alice: images --json says mem's image is built" json_check "$out" '
i = next(i for i in j if "mem" in i["sandboxes"])
assert i["built"] is True and len(i["id"]) == 64 and i["size"] > 0, i'
out=$(as_user alice sandyctl --json=short list)
tap_check "alice: list --json says built true" json_check "$out" '
r = next(r for r in j if r["name"] == "mem")
assert r["built"] is True and r["state"] == "inactive", r'

# --- alice runs it and looks at it
tap_check "alice: sandyctl start mem" as_user alice timeout 120 sandyctl start mem
out=$(as_user alice sandyctl --json=short status mem); rc=$?
tap_check "alice: status --json: running, built, memory field there, CPU and tasks numbers" status_is "$rc" 0 \
        json_check "$out" '
s = j[0]
assert s["state"] == "active" and s["built"] is True and s["leader"] > 0, s
assert "memory_current" in s and (s["memory_current"] is None or s["memory_current"] > 0), s
assert isinstance(s["cpu_usage_nsec"], int) and isinstance(s["tasks_current"], int) and s["tasks_current"] > 0, s'
out=$(as_user alice sandyctl status mem)
tap_check "alice: status shows Memory, CPU and Tasks" output_matches "$out" "^ +Memory: " "^ +CPU: [0-9.]+s" "^ +Tasks: [0-9]+"
out=$(as_user alice sandyctl --no-ask-password reset mem 2>&1); rc=$?
tap_check "alice: reset refuses while mem runs, saying so" status_is "$rc" 1 output_matches "$out" "mem is active; stop it first"
tap_check "  and the state is still there" test -d /var/lib/sandy/state/mem

# --- removing images is an administrator's: alice is refused with the reason, nothing goes
out=$(as_user alice sandyctl --no-ask-password images rm mem 2>&1); rc=$?
tap_check "alice: images rm is refused (exit 1), naming the authorization" status_is "$rc" 1 \
        output_matches "$out" "Not authorized"
out=$(as_user alice sandyctl --no-ask-password images prune 2>&1); rc=$?
tap_check "alice: images prune is refused (exit 1)" status_is "$rc" 1 output_matches "$out" "Not authorized"
tap_check "  mem's image is still built" image_built mem

# --- -H: the verbs that read declarations run sandyctl on the host through ssh, the others use its bus
fake=$(mktemp -d /tmp/e2e-fake-ssh77.XXXXXX)
chmod 0755 "$fake"
fake_ssh "$fake"
touch "$fake/calls"
chmod 0666 "$fake/calls"
out=$(as_user alice env PATH="$fake:$PATH" sandyctl -H alice@remote.test --json=short status mem 2>&1); rc=$?
tap_check "-H status mem: sandyctl status on the host, as alice" status_is "$rc" 0 \
        file_matches "$fake/calls" "^ssh -xT -- alice@remote.test sandyctl --json=short status mem$"
tap_check "  with its answer" json_check "$out" 'assert j[0]["name"] == "mem" and j[0]["state"] == "active", j'
out=$(as_user alice env PATH="$fake:$PATH" sandyctl -H alice@remote.test images 2>&1); rc=$?
tap_check "-H images" status_is "$rc" 0 output_matches "$out" " mem$"
out=$(as_user alice env PATH="$fake:$PATH" sandyctl -H alice@remote.test verify mem 2>&1); rc=$?
tap_check "-H verify NAME runs there" status_is "$rc" 0 file_matches "$fake/calls" "sandyctl verify mem$"
out=$(as_user alice env PATH="$fake:$PATH" sandyctl -H alice@remote.test verify /etc/sandy.d/mem.sandbox 2>&1); rc=$?
tap_check "-H verify FILE is refused with the reason" status_is "$rc" 1 output_matches "$out" "is a file here"
tap_check "-H stop mem goes through the remote bus" as_user alice env PATH="$fake:$PATH" timeout 120 \
        sandyctl -H alice@remote.test stop mem
tap_check "  (systemd-stdio-bridge)" file_matches "$fake/calls" "alice@remote.test.*systemd-stdio-bridge"
tap_check "  mem is stopped" wait_for 30 unit_inactive sandy@mem.service

# --- reset through the helper, as alice, once it is stopped (Ephemeral=no kept its overlay)
tap_check "positive control: mem kept state" test -d /var/lib/sandy/state/mem
out=$(as_user alice env PATH="$fake:$PATH" sandyctl -H alice@remote.test --no-ask-password reset mem 2>&1); rc=$?
tap_check "alice: -H reset mem discards it through sandy-helper" status_is "$rc" 0 absent /var/lib/sandy/state/mem
out=$(as_user alice sandyctl --no-ask-password reset mem 2>&1); rc=$?
tap_check "  a second reset: nothing to discard" status_is "$rc" 0 output_matches "$out" "no state to discard"
rm -rf "$fake"

# --- root: prune keeps what declarations name and removes the rest; rm refuses an image in use
fixture_declaration User=gone77 | declare_sandbox gone77
seed_image gone77
gone=$(sandyctl --json=short images | python3 -c '
import json, sys
print(next(i["id"] for i in json.load(sys.stdin) if "gone77" in i["sandboxes"]))')
remove_sandbox gone77
out=$(sandyctl --json=short images)
tap_check "positive control: gone77's image is in the store, used by nobody" json_check "$out" "
i = next(i for i in j if i['id'] == '$gone')
assert i['built'] and i['sandboxes'] == [] and i['source'], i"
out=$(sandyctl images prune 2>&1); rc=$?
tap_check "images prune removes it" status_is "$rc" 0 output_matches "$out" "Removed image $gone"
out=$(sandyctl --json=short images)
tap_check "  it is gone, mem's is kept" json_check "$out" "
assert not [i for i in j if i['id'] == '$gone'], j
assert any(i['built'] and 'mem' in i['sandboxes'] for i in j), j"
tap_check "root: start mem" timeout 120 sandyctl start mem
out=$(sandyctl images rm mem 2>&1); rc=$?
tap_check "images rm refuses an image in use" status_is "$rc" 1 output_matches "$out" "in use by the running sandbox mem"
tap_check "root: stop mem" timeout 120 sandyctl stop mem
id=$(sandyctl --json=short images | python3 -c '
import json, sys
print(next(i["id"] for i in json.load(sys.stdin) if "mem" in i["sandboxes"]))')
out=$(sandyctl images rm "${id:0:12}" 2>&1); rc=$?
tap_check "images rm ID-PREFIX removes mem's image" status_is "$rc" 0 output_matches "$out" "Removed image $id"
tap_check "  it is not built any more" image_not_built mem
out=$(sandyctl images rm nosuch77 2>&1); rc=$?
tap_check "images rm of an unknown name fails with the reason" status_is "$rc" 1 \
        output_matches "$out" "neither an image in the store nor a sandbox whose image is built"

remove_sandbox mem
drop_workspace "$ws"
tap_done
