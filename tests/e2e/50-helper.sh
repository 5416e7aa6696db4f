#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandy-helper (org.sandy.Helper1): bus activation, polkit (outsider denied, group sandy and root
# allowed), real image builds from the fixture's OCI archive, failed builds leave nothing, a helper
# killed mid-build leaves nothing and the next build succeeds, shared jobs, no rebuild of an unchanged
# recipe, sandy@NAME building its image on first start, idle exit and re-activation.
. "$(dirname "$0")/lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

store=/var/lib/sandy/images
hcall() { busctl --system --allow-interactive-authorization=no --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager "$@"; }
as_hcall() {
        local u=$1
        shift
        as_user "$u" busctl --system --allow-interactive-authorization=no --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 \
                org.sandy.Helper1.Manager "$@"
}
image_id() { basename "$(dirname "$(image_rootfs "$1")")"; }
# no image ID and no temporary tree of ID
nothing_of() { ! test -e "$store/$1" && ! compgen -G "$store/.tmp-$1-*" >/dev/null; }
no_tmp_for() { ! compgen -G "$store/.tmp-$1-*" >/dev/null; }
export store
export -f hcall nothing_of no_tmp_for
# A Setup= script that marks the build root and then waits, so a test can catch a build in the middle.
mkdir -p /etc/sandy
write_setup() { # write_setup FILE SECONDS [EXIT]
        printf '#!/bin/sh\necho "setup running in the new root"\ntouch /setup-started\nsleep %s\nexit %s\n' \
                "$2" "${3:-0}" >"$1"
}
fixture_sandbox() { # fixture_sandbox NAME [EXTRA [Sandbox] LINE] [EXTRA [Image] LINE]
        declare_sandbox "$1" <<EOF2
[Sandbox]
Owner=alice
${2:-}
[Image]
From=oci-archive:$fixture/fixture.oci.tar
${3:-}
[Network]
Mode=none
EOF2
}

# Packaging steps a .deb's postinst does: the sandy group and the store.
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1
tap_check "sysusers.d created group sandy" getent group sandy

# ---- activation and introspection
systemctl stop sandy-helper.service 2>/dev/null
tap_check "sandy-helper is not running before the first call" bash -c '! systemctl is-active -q sandy-helper.service'
intro=$(busctl --system introspect org.sandy.Helper1 /org/sandy/Helper1 2>&1)
tap_check "busctl introspect shows the Manager API" bash -c '
        for w in BuildImage EnsureImage ListImages RemoveImage Prune JobNew JobRemoved org.sandy.Helper1.Manager; do
                grep -q "$w" <<<"$1" || { echo "missing $w"; echo "$1"; exit 1; }
        done' _ "$intro"
tap_check "the call activated sandy-helper.service" systemctl is-active sandy-helper.service
tap_check "it reported readiness and status through sd_notify" \
        bash -c '[ -n "$(systemctl show -P StatusText sandy-helper.service)" ]'

# ---- polkit and declared names only
fixture_sandbox h1 "" "Setup=/etc/sandy/h1-setup.sh"
write_setup /etc/sandy/h1-setup.sh 0
id1=$(image_id h1)
tap_check "bob is not in group sandy" bash -c '! id -nG bob | grep -qw sandy'
out=$(as_hcall bob BuildImage sb h1 false 2>&1)
tap_check "bob is denied BuildImage with a clear message" \
        bash -c '[ $1 != 0 ] && grep -q "Access denied.*org.sandy.helper.build" <<<"$2"' _ "$?" "$out"
tap_diag "bob: $out"
tap_check "and nothing was built for him" nothing_of "$id1"
usermod -aG sandy alice
out=$(as_hcall alice BuildImage sb nosuch false 2>&1)
tap_check "an undeclared name is refused, naming it" grep -q "Sandbox nosuch is not declared" <<<"$out"
printf '[Image]\nFrom=nonsense:x\n' >/etc/sandy.d/broken.sandbox
out=$(as_hcall alice BuildImage sb broken false 2>&1)
tap_check "a declaration with errors is refused, naming it" grep -q "Sandbox broken has errors in its declaration" <<<"$out"
rm -f /etc/sandy.d/broken.sandbox
out=$(as_hcall alice BuildImage sb ../../etc false 2>&1)
tap_check "a path is not a sandbox name" grep -q "not a valid sandbox name" <<<"$out"

busctl --system monitor --match "type='signal',interface='org.sandy.Helper1.Manager'" >/tmp/h2-signals.txt 2>&1 &
monitor=$!
sleep 0.5
out=$(as_hcall alice BuildImage sb h1 false 2>&1)
tap_check "alice (group sandy) may BuildImage; a job object comes back" grep -q '^o "/org/sandy/Helper1/job/' <<<"$out"
job=$(sed -n 's/^o "\(.*\)"$/\1/p' <<<"$out")
tap_check "the job has Sandbox and ImageId properties" bash -c "
        busctl --system get-property org.sandy.Helper1 '$job' org.sandy.Helper1.Job Sandbox | grep -q h1 &&
        busctl --system get-property org.sandy.Helper1 '$job' org.sandy.Helper1.Job ImageId | grep -q $id1"
tap_check "the build finishes and the image appears" wait_for 300 test -d "$store/$id1/rootfs"
tap_check "JobNew and JobRemoved(done) were signalled" \
        wait_for 10 bash -c "grep -q JobNew /tmp/h2-signals.txt && grep -q '\"done\"' /tmp/h2-signals.txt"
kill "$monitor" 2>/dev/null
tap_check "no temporary tree is left" no_tmp_for "$id1"
tap_check "the metadata names the source" grep -qx "from=oci-archive:$fixture/fixture.oci.tar" "$store/$id1/metadata"
tap_check "the Setup= script ran in the new root" test -e "$store/$id1/rootfs/setup-started"
tap_check "the sandbox user agent was created in the image" grep -q '^agent:' "$store/$id1/rootfs/etc/passwd"
tap_check "its home exists" test -d "$store/$id1/rootfs/home/agent"
tap_check "Setup= output went to the journal with SANDBOX=h1" \
        wait_for 10 bash -c 'journalctl SANDBOX=h1 --no-pager | grep -q "setup running in the new root"'
out=$(hcall ListImages 2>&1)
tap_check "ListImages lists the image with its sandbox" bash -c 'grep -q "$1" <<<"$2" && grep -q "\"h1\"" <<<"$2"' _ "$id1" "$out"
out=$(as_hcall alice ListImages 2>&1)
tap_check "alice may ListImages" grep -q "$id1" <<<"$out"

# ---- unchanged recipe: no rebuild
before=$(cat "$store/$id1/metadata")
out=$(as_hcall alice BuildImage sb h1 false 2>&1)
tap_check "an unchanged recipe is not rebuilt (no job)" grep -qx 'o "/"' <<<"$out"
out=$(hcall EnsureImage s h1 2>&1)
tap_check "root: EnsureImage answers with the existing root" grep -qx "s \"$store/$id1/rootfs\"" <<<"$out"
tap_check "same id, built time unchanged" bash -c '[ "$(cat "$1")" = "$2" ]' _ "$store/$id1/metadata" "$before"

# ---- force: rebuilt under the same id, swapped in whole
built() { sed -n 's/^built=//p' "$store/$1/metadata"; }
b0=$(built "$id1")
out=$(as_hcall alice BuildImage sb h1 true 2>&1)
tap_check "force rebuilds an existing image (a job comes back)" grep -q '^o "/org/sandy/Helper1/job/' <<<"$out"
tap_check "the rebuilt image replaces the old one under the same id" \
        wait_for 300 bash -c "[ \"\$(sed -n 's/^built=//p' $store/$id1/metadata)\" != '$b0' ] && ! compgen -G '$store/.tmp-*'"
tap_check "and it is complete" test -x "$store/$id1/rootfs/lib/systemd/systemd"

# ---- the built image runs
tap_check "systemctl start sandy@h1 runs the built image" timeout 120 systemctl start sandy@h1.service
tap_check "the sandbox runs from the store" \
        bash -c "grep -q '$id1/rootfs' /proc/self/mountinfo || grep -qx 'SANDY_ROOT=$store/$id1/rootfs' /run/sandy/h1/start.env"
tap_check "agent exists inside" timeout 60 machinectl shell h1 /usr/bin/id agent
out=$(hcall RemoveImage s "$id1" 2>&1)
tap_check "RemoveImage refuses an image in use" grep -q "in use by the running sandbox h1" <<<"$out"
out=$(hcall BuildImage sb h1 true 2>&1)
tap_check "and so does a forced rebuild" grep -q "in use by the running sandbox h1" <<<"$out"
systemctl stop sandy@h1.service

# ---- two concurrent requests share one job
write_setup /etc/sandy/conc-setup.sh 4
fixture_sandbox conc "" "Setup=/etc/sandy/conc-setup.sh"
idc=$(image_id conc)
as_hcall alice BuildImage sb conc false >/tmp/h2-c1.txt 2>&1 &
as_hcall alice BuildImage sb conc false >/tmp/h2-c2.txt 2>&1 &
wait
tap_check "two concurrent BuildImage calls get the same job" \
        bash -c 'grep -q "^o \"/org/sandy/Helper1/job/" /tmp/h2-c1.txt && cmp /tmp/h2-c1.txt /tmp/h2-c2.txt'
tap_diag "$(cat /tmp/h2-c1.txt /tmp/h2-c2.txt)"
tap_check "an EnsureImage meanwhile waits for that build" bash -c "hcall EnsureImage s conc | grep -q $idc"
tap_check "exactly one build ran for it" \
        bash -c "[ \$(journalctl -u sandy-helper --no-pager | grep -c 'Building image $idc') = 1 ]"

# ---- failed builds leave nothing and say why
write_setup /etc/sandy/fail-setup.sh 0 3
fixture_sandbox bad "" "Setup=/etc/sandy/fail-setup.sh"
idb=$(image_id bad)
out=$(hcall EnsureImage s bad 2>&1)
tap_check "a failing Setup= script fails the build, saying so" grep -q "Setup= script.*exit status 3" <<<"$out"
tap_diag "$out"
tap_check "no image and no temporary tree after the failure" nothing_of "$idb"
declare_sandbox reg <<EOF2
[Image]
From=docker://registry.invalid/sandy/none:1
[Network]
Mode=none
EOF2
idr=$(image_id reg)
out=$(hcall EnsureImage s reg 2>&1)
tap_check "a docker:// pull that fails is reported in one line" \
        grep -q "Failed to pull registry.invalid/sandy/none:1: cannot resolve the registry's name" <<<"$out"
tap_diag "$out"
tap_check "nothing left of it" nothing_of "$idr"
cat >/etc/sandy/strip-systemd.sh <<'EOF2'
#!/bin/sh
rm -f /lib/systemd/systemd /usr/lib/systemd/systemd
EOF2
fixture_sandbox noboot "User=nb" "Setup=/etc/sandy/strip-systemd.sh"
out=$(hcall EnsureImage s noboot 2>&1)
tap_check "Boot=yes without systemd in the image is refused clearly" \
        grep -q "Boot=yes needs systemd in the image; add Packages=systemd dbus or use Boot=no" <<<"$out"

# ---- Cancel
write_setup /etc/sandy/slow-setup.sh 120
fixture_sandbox slow "" "Setup=/etc/sandy/slow-setup.sh"
ids=$(image_id slow)
job=$(hcall BuildImage sb slow false | sed -n 's/^o "\(.*\)"$/\1/p')
tap_check "a slow build is running" wait_for 120 bash -c "ls $store/.tmp-$ids-*/rootfs/setup-started"
tap_check "Progress is between 0 and 1 while it runs" bash -c "
        p=\$(busctl --system get-property org.sandy.Helper1 '$job' org.sandy.Helper1.Job Progress | cut -d' ' -f2)
        awk -v p=\"\$p\" 'BEGIN { exit !(p > 0 && p < 1) }'"
tap_check "Cancel is accepted" busctl --system call org.sandy.Helper1 "$job" org.sandy.Helper1.Job Cancel
tap_check "the canceled build leaves no image and no temporary tree" \
        wait_for 30 nothing_of "$ids"

# ---- helper killed mid-build
write_setup /etc/sandy/kill-setup.sh 6
fixture_sandbox killed "" "Setup=/etc/sandy/kill-setup.sh"
idk=$(image_id killed)
hcall BuildImage sb killed false >/dev/null
tap_check "the build is in the middle" wait_for 120 bash -c "ls $store/.tmp-$idk-*/rootfs/setup-started"
tmp=$(ls -d "$store"/.tmp-"$idk"-* | head -n1)
# (MainPID is 0 when the helper is not running: "kill -9 0" would kill this test's whole process group,
# the runner outside the test host included.)
tap_check "SIGKILL of the helper" bash -c 'p=$(systemctl show -P MainPID sandy-helper.service); [ "$p" -gt 1 ] && kill -KILL "$p"'
tap_check "after SIGKILL the helper is gone, builder included" \
        wait_for 30 bash -c '! systemctl is-active -q sandy-helper.service &&
                ! test -s /sys/fs/cgroup/system.slice/sandy-helper.service/cgroup.procs'
tap_check "no image for the killed build" test ! -e "$store/$idk"
out=$(hcall EnsureImage s killed 2>&1)
tap_check "the next build succeeds" grep -qx "s \"$store/$idk/rootfs\"" <<<"$out"
tap_check "the restarted helper removed the old temporary tree" test ! -e "$tmp"
tap_check "and left none of its own" no_tmp_for "$idk"

# ---- sandy@NAME builds its image on first start
fixture_sandbox auto "User=auto" ""
ida=$(image_id auto)
tap_check "the image of auto is not there yet" test ! -e "$store/$ida"
tap_check "systemctl start sandy@auto builds the image and starts" timeout 600 systemctl start sandy@auto.service
tap_check "sandy-prepare asked the helper" \
        bash -c 'journalctl -u sandy@auto.service --no-pager | grep -q "asking sandy-helper to build it"'
tap_check "user auto exists inside" timeout 60 machinectl shell auto /usr/bin/id auto
systemctl stop sandy@auto.service

# ---- Prune and RemoveImage
remove_sandbox conc
out=$(as_hcall bob Prune 2>&1)
tap_check "bob may not Prune" grep -q "Access denied" <<<"$out"
out=$(hcall Prune 2>&1)
tap_check "Prune removes the image no declaration uses" bash -c 'grep -q "$1" <<<"$2" && ! test -e "$3"' _ "$idc" "$out" "$store/$idc"
tap_check "and keeps the ones in use" test -d "$store/$id1/rootfs"
# A typo makes h1's declaration invalid: its image must survive Prune all the
# same, and go once the declaration names another source.
mkdir -p /etc/sandy.d/h1.sandbox.d
printf '[Network]\nMode=strcit\n' >/etc/sandy.d/h1.sandbox.d/50-typo.conf
systemctl daemon-reload
tap_check "control: h1's declaration has an error now" bash -c '! sandyctl verify h1'
out=$(hcall Prune 2>&1)
tap_check "Prune keeps the image a declaration with an error names (From=)" test -d "$store/$id1/rootfs"
printf '[Image]\nFrom=oci-archive:/nonexistent/other.tar\n[Network]\nMode=strcit\n' \
        >/etc/sandy.d/h1.sandbox.d/50-typo.conf
out=$(hcall Prune 2>&1)
tap_check "control: once no declaration names it, Prune removes it" test ! -e "$store/$id1"
rm -rf /etc/sandy.d/h1.sandbox.d
systemctl daemon-reload
hcall EnsureImage s h1 >/dev/null 2>&1
tap_check "RemoveImage removes an image" hcall RemoveImage s "$ida"
tap_check "it is gone" test ! -e "$store/$ida"
out=$(hcall RemoveImage s "$ida" 2>&1)
tap_check "removing it again says there is none" grep -q "No image $ida" <<<"$out"

# ---- idle exit and re-activation
mkdir -p /run/systemd/system/sandy-helper.service.d
printf '[Service]\nEnvironment=SANDY_HELPER_EXIT_IDLE_SEC=2\n' >/run/systemd/system/sandy-helper.service.d/50-e2e-idle.conf
systemctl daemon-reload
systemctl stop sandy-helper.service
tap_check "a call activates the helper" hcall ListImages
tap_check "it exits by itself when idle" wait_for 30 bash -c '! systemctl is-active -q sandy-helper.service'
tap_check "it exited cleanly (not failed)" bash -c '[ "$(systemctl show -P Result sandy-helper.service)" = success ]'
tap_check "the next call activates it again" bash -c "hcall ListImages | grep -q $id1"
# Calls that arrive around the moment the helper gives up its name: each must be answered, by the old
# instance or by a newly activated one (the sleeps straddle the 2 s idle timeout).
lost=0
for d in 1.9 2.0 2.1 1.95 2.05 1.98 2.02 2.0 1.99 2.01; do
        sleep "$d"
        hcall ListImages >/dev/null 2>&1 || lost=$((lost + 1))
done
tap_check "no call is lost while the helper exits (10 calls at the idle boundary)" test "$lost" = 0
tap_diag "idle exits so far: $(journalctl -u sandy-helper --no-pager | grep -c "Idle for 2 s, exiting")"
rm -f /run/systemd/system/sandy-helper.service.d/50-e2e-idle.conf
systemctl daemon-reload

for n in h1 bad reg noboot slow killed auto; do remove_sandbox $n; done
gpasswd -d alice sandy >/dev/null 2>&1
rm -f /etc/sandy/*-setup.sh /etc/sandy/strip-systemd.sh /tmp/h2-*.txt
tap_done
