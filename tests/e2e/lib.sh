# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for sandy's e2e tests. They run inside the booted test host, as root, with a real systemd.
set -uo pipefail
# TAP (tap_check, tap_check_fails, tap_skip, tap_done), as_user, canary and fixture helpers:
. "$(dirname "${BASH_SOURCE[0]}")/../testhost/e2e-lib.sh"

# wait_for SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.2
        done
}

# The fixture base image, bind-mounted read-only from the outer host's cache.
fixture_dir() {
        [ -f "$FIXTURE_OCI" ] && readlink -f "$FIXTURE_DIR"
}

# declare_sandbox NAME < TEXT: write /etc/sandy.d/NAME.sandbox and reload systemd.
declare_sandbox() {
        mkdir -p /etc/sandy.d
        cat >"/etc/sandy.d/$1.sandbox"
        systemctl daemon-reload
}

# image_rootfs NAME: where the image store keeps NAME's image, as sandyctl computes it.
image_rootfs() {
        sandyctl --json=short images | python3 -c '
import json, sys
print(next(i["rootfs"] for i in json.load(sys.stdin) if sys.argv[1] in i["sandboxes"]))' "$1"
}

# seed_image NAME: build NAME's image for real with sandy-helper's EnsureImage (bus-activated), as root; it
# returns once the image is in the store, or fails with the helper's reason. Two cases cannot be built
# here and get the fixture tree copied to the image's content address instead: debootstrap: sources (the
# test host has no Debian mirror) and declarations outside the helper's search path (SANDY_SEARCH_PATH set;
# the helper only reads the system's declarations).
seed_image() {
        local name=$1 rootfs fixture
        if [ -z "${SANDY_SEARCH_PATH:-}" ] && ! sandyctl cat "$name" 2>/dev/null | grep -q '^From=debootstrap:'; then
                busctl --system --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager \
                        EnsureImage s "$name" >/dev/null
                return
        fi
        fixture=$(fixture_dir) || return 1
        rootfs=$(image_rootfs "$name") || return 1
        [ -d "$rootfs" ] && return 0
        mkdir -p "$(dirname "$rootfs")"
        cp -a --reflink=auto "$fixture/rootfs" "$rootfs.tmp" && mv "$rootfs.tmp" "$rootfs"
}

remove_sandbox() {
        systemctl stop "sandy@$1.service" >/dev/null 2>&1 || true
        rm -rf "/etc/sandy.d/$1.sandbox" "/etc/sandy.d/$1.sandbox.d"
        systemctl daemon-reload
}

# ---- issue 11: checks shared by 10-lifecycle, 40-quickstart, 71-sandyctl and host-autostart. Each is a
# command for tap_check/wait_for and says on stdout why it failed.

# unit_property_is UNIT PROPERTY VALUE: systemctl show -P PROPERTY UNIT is exactly VALUE.
unit_property_is() {
        local v
        v=$(systemctl show -P "$2" "$1") || return 1
        [ "$v" = "$3" ] || { echo "$2=$v, not $3"; return 1; }
}
# unit_has_name UNIT NAME: NAME is one of the unit's names (an alias).
unit_has_name() {
        systemctl show -P Names "$1" | grep -qw -- "$2"
}
# unit_inactive UNIT: the unit has stopped: inactive or failed, not still deactivating (is-active is
# false while ExecStopPost= runs), so that what its stop removes is gone.
unit_inactive() {
        local s
        s=$(systemctl show -P ActiveState "$1")
        [ "$s" = inactive ] || [ "$s" = failed ] || { echo "ActiveState=$s"; return 1; }
}
# unit_show_lacks UNIT TEXT: TEXT is nowhere in systemctl show UNIT.
unit_show_lacks() {
        ! systemctl show "$1" | grep -qF -- "$2"
}
# journal_has UNIT TEXT: this boot's journal of UNIT has TEXT.
journal_has() {
        journalctl -b -u "$1" --no-pager | grep -qF -- "$2"
}
# machine_listed NAME: machinectl list shows the machine NAME.
machine_listed() {
        machinectl list --no-legend | grep -q "^$1 "
}
# machine_only_loopback NAME: the machine has no network link but lo.
machine_only_loopback() {
        local out
        out=$(machinectl shell "$1" /usr/sbin/ip -o link 2>&1)
        echo "$out"
        ! grep -v " lo:" <<<"$out" | grep -q "^[0-9]*:"
}
# machine_file_has NAME PATH TEXT: the file PATH inside the machine NAME holds TEXT.
machine_file_has() {
        machinectl shell "$1" /bin/cat "$2" | grep -qF -- "$3"
}
# absent PATH...: none of the paths exists (not even as a dangling symlink).
absent() {
        local p
        for p; do
                if [ -e "$p" ] || [ -L "$p" ]; then
                        echo "$p exists"
                        return 1
                fi
        done
}
# output_matches TEXT REGEX...: each extended REGEX matches a line of TEXT.
output_matches() {
        local text=$1 re
        shift
        for re; do
                grep -qE -- "$re" <<<"$text" || { echo "no line matches /$re/ in:"; echo "$text"; return 1; }
        done
}
# output_lacks TEXT REGEX: no line of TEXT matches REGEX.
output_lacks() {
        ! grep -qE -- "$2" <<<"$1" || { echo "a line matches /$2/ in:"; echo "$1"; return 1; }
}
# file_matches FILE REGEX: a line of FILE matches the extended REGEX.
file_matches() {
        grep -qE -- "$2" "$1" || { echo "no line matches /$2/ in $1:"; cat "$1"; return 1; }
}
# status_is STATUS WANT [COMMAND...]: an exit status taken earlier (out=$(...); rc=$?) is WANT, and then
# COMMAND succeeds. COMMAND also runs when the status is wrong, for what it says.
status_is() {
        local st=$1 want=$2
        shift 2
        if [ "$st" != "$want" ]; then
                echo "exit status $st, not $want"
                [ $# -eq 0 ] || "$@"
                return 1
        fi
        [ $# -eq 0 ] || "$@"
}
# words_are TEXT WORD...: the words of TEXT are exactly the WORDs, in any order.
words_are() {
        local got want
        # shellcheck disable=SC2086  # split into words on purpose
        got=$(printf '%s\n' $1 | sort | tr '\n' ' ')
        shift
        want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
        [ "$got" = "$want" ] || { echo "words: $got, not $want"; return 1; }
}
# image_built NAME: sandyctl images says that NAME's image is built.
image_built() {
        sandyctl --json=short images | python3 -c '
import json, sys
sys.exit(not any(i["built"] and sys.argv[1] in i["sandboxes"] for i in json.load(sys.stdin)))' "$1"
}
# sandyctl_completes WORD...: what the bash completion of sandyctl offers for the last WORD, one a line.
sandyctl_completes() (
        set +u # the completion is written for interactive shells
        . /usr/share/bash-completion/completions/sandyctl
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        _sandyctl
        printf '%s\n' "${COMPREPLY[@]}"
)
# fixture_declaration [SANDBOX-SETTING...]: the text of a sandbox of the fixture image, without network,
# with the given [Sandbox] settings (e.g. AutoStart=yes).
fixture_declaration() {
        local fixture
        fixture=$(fixture_dir) || { echo "no fixture image" >&2; return 1; }
        echo "[Sandbox]"
        printf '%s\n' "$@"
        printf '[Image]\nFrom=oci-archive:%s/fixture.oci.tar\n[Network]\nMode=none\n' "$fixture"
}
# declare_fixture_sandbox NAME [SANDBOX-SETTING...]: declare NAME so, and seed its image.
declare_fixture_sandbox() {
        local name=$1 text
        shift
        text=$(fixture_declaration "$@") || return 1
        declare_sandbox "$name" <<<"$text" && seed_image "$name"
}
# machines_target_wants NAME: machines.target wants sandy@NAME (AutoStart=yes).
machines_target_wants() {
        test -L "/run/systemd/generator/machines.target.wants/sandy@$1.service"
}
# stop_and_remove NAME...: stop each sandbox, wait until it is down, remove its declaration.
stop_and_remove() {
        local n
        for n; do
                machinectl stop "$n" >/dev/null 2>&1
                wait_for 30 unit_inactive "sandy@$n.service" || { echo "sandy@$n.service does not stop"; return 1; }
                remove_sandbox "$n"
        done
}

# ---- issue 15: who may use which sandbox ------------------------------------------------------------------

# member_exec_ready NAME USER: where systemd runs under a seccomp filter (this test host is a container), only a
# process outside it can keep the sandbox's filter for members' sandyctl exec (a real host's systemd has no
# filter, and sandy-prepare keeps it at start). A member's (USER's) exec before that must fail saying so; root's exec
# keeps it.
member_exec_ready() {
        local out
        if ! out=$(as_user "$2" sandyctl --no-ask-password exec "$1" -- true 2>&1) &&
                ! grep -q "seccomp filter" <<<"$out"; then
                echo "$2's exec failed without the reason: $out"
                return 1
        fi
        sandyctl exec "$1" -- true
}

# past_authorization CMD...: CMD (a SetupNetwork call for a Mode=none sandbox) was authorized and ran: the
# helper answered with the declaration's verdict ("no network namespace of sandy's"), not with a refusal.
past_authorization() {
        local out
        out=$("$@" 2>&1)
        echo "$out"
        grep -q "has no network namespace of sandy's" <<<"$out"
}

# refused CMD...: CMD fails, and because authorization was denied (not for some other reason).
refused() {
        local out rc
        out=$("$@" 2>&1)
        rc=$?
        echo "$out"
        [ "$rc" != 0 ] &&
                grep -qiE "interactive authentication required|access denied|not authorized|authentication is required|may not use" <<<"$out"
}

# matches REGEX TEXT: some line of TEXT matches.
matches() { grep -qE -- "$1" <<<"$2" || { echo "no line matches /$1/ in:"; echo "$2"; false; }; }

# ensure_members USER...: group sandy exists and has these users; ensure_user USER: a plain user exists.
ensure_members() {
        getent group sandy >/dev/null || groupadd --system sandy
        local u
        for u in "$@"; do usermod -aG sandy "$u"; done
}
ensure_user() {
        id "$1" >/dev/null 2>&1 || useradd -m -s /bin/bash "$1"
}

# helper_call USER METHOD SIGNATURE ARGS...: a method of org.sandy.Helper1 as USER (root: as root), never
# interactive. The interface is found from the method name.
helper_call() {
        local user=$1 method=$2 iface
        shift 2
        case $method in
        SetupNetwork | TeardownNetwork | DescribeEgress) iface=org.sandy.Helper1.Network ;;
        CheckAccess) iface=org.sandy.Helper1.Access ;;
        *) iface=org.sandy.Helper1.Manager ;;
        esac
        if [ "$user" = root ]; then
                busctl --timeout=120 call org.sandy.Helper1 /org/sandy/Helper1 "$iface" "$method" "$@"
        else
                as_user "$user" busctl --timeout=120 call org.sandy.Helper1 /org/sandy/Helper1 "$iface" "$method" "$@"
        fi
}

# machined_login USER MACHINE: what "machinectl login" asks machined for (OpenMachineLogin), without a tty.
machined_login() {
        local user=$1
        shift
        as_user "$user" busctl --timeout=60 call org.freedesktop.machine1 /org/freedesktop/machine1 \
                org.freedesktop.machine1.Manager OpenMachineLogin s "$1"
}

# unit_active NAME / unit_inactive NAME: for wait_for.
unit_active() { systemctl is-active -q "sandy@$1.service"; }
sandbox_inactive() { unit_inactive "sandy@$1.service"; }

# journal_since CURSOR: messages logged after the cursor (journal_cursor gives one).
journal_cursor() { journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; }
journal_since() { journalctl --after-cursor="$1" --no-pager -o cat; }
journal_since_has() { journal_since "$1" | grep -qF -- "$2"; }

# kill_tree PID: PID and everything it started, by process ID.
kill_tree() {
        local c
        for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
        kill "$1" 2>/dev/null
}

# ---------------------------------------------------------------- issue 17: limits, clean stop, many sandboxes
_lib17_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# sandy_v1_cgroup CONTROLLER NAME: the directory of sandy@NAME.service in a cgroup v1 hierarchy (a test host
# booted with testhost.sh --cgroup legacy).
sandy_v1_cgroup() {
        local cg
        cg=$(systemctl show -p ControlGroup --value "sandy@$2.service") && [ -n "$cg" ] || return 1
        echo "/sys/fs/cgroup/$1$cg"
}

# seed_limit_probe NAME: seed_image, plus tests/e2e/host-limits-probe.pl as /usr/local/bin/sandy-limit-probe.
# In a legacy-cgroup test host (no cgroup2) sandy-helper cannot build (its build cgroups need cgroup2):
# there the fixture tree is copied to the image's content address, as seed_image does for debootstrap:.
seed_limit_probe() {
        local r fixture
        if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
                seed_image "$1" && r=$(image_rootfs "$1") || return 1
        else
                fixture=$(fixture_dir) && r=$(image_rootfs "$1") || return 1
                if [ ! -d "$r" ]; then
                        mkdir -p "$(dirname "$r")" &&
                                cp -a --reflink=auto "$fixture/rootfs" "$r.tmp" && mv "$r.tmp" "$r" || return 1
                fi
        fi
        install -m 0755 "$_lib17_dir/host-limits-probe.pl" "$r/usr/local/bin/sandy-limit-probe"
}

# limit_probe NAME ARGS...: the probe in the booted sandbox NAME as a transient service of its systemd
# (systemd-run -M), so it runs in the sandbox's cgroups; the probe's exit status is passed on. --collect:
# a failed (OOM-killed) unit must not stay loaded. (machinectl shell does both worse: no exit status, and
# its container-shell@PTY unit stays loaded after a failure and blocks the next shell on that pty.)
limit_probe() {
        local n=$1
        shift
        systemd-run -M "$n" --quiet --pipe --wait --collect /usr/local/bin/sandy-limit-probe "$@"
}

# v1_stat FILE KEY: the value of KEY in a "key value" cgroup v1 file (cpu.stat, pids.events, oom_control).
v1_stat() {
        awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$1"
}

# limits_applied NAME MEMORY-BYTES TASKS QUOTA-US: the kernel holds sandy@NAME's MemoryMax=, TasksMax= and
# CPUQuota= (memory.limit_in_bytes, pids.max, cpu.cfs_quota_us of its v1 cgroups).
limits_applied() {
        local n=$1 m p c got
        m=$(sandy_v1_cgroup memory "$n") && p=$(sandy_v1_cgroup pids "$n") && c=$(sandy_v1_cgroup cpu "$n") || return 1
        got="$(cat "$m/memory.limit_in_bytes") $(cat "$p/pids.max") $(cat "$c/cpu.cfs_quota_us")"
        echo "memory.limit_in_bytes pids.max cpu.cfs_quota_us: $got (want $2 $3 $4)"
        [ "$got" = "$2 $3 $4" ]
}

# limits_alloc NAME MIB: allocate MIB MiB in NAME; prints the probe's output and the OOM kills it caused.
limits_alloc() {
        local n=$1 m before after out
        m=$(sandy_v1_cgroup memory "$n") || return 1
        before=$(v1_stat "$m/memory.oom_control" oom_kill)
        out=$(limit_probe "$n" alloc "$2" 2>&1)
        after=$(v1_stat "$m/memory.oom_control" oom_kill)
        echo "oom_kills $((after - before)) limit $(cat "$m/memory.limit_in_bytes") probe: ${out:-(nothing)}"
}

# limits_forkbomb NAME DEPTH SECS: the probe's fork bomb (2^DEPTH processes at most, each living SECS) in
# NAME, while the test host keeps starting processes of its own. Prints "peak P refused R host_failed F":
# the most tasks seen in sandy@NAME's pids cgroup, forks the kernel refused it, failed starts on the host.
# Not waited for with systemd-run --wait: a systemd on cgroup v1 in a container is never told that a cgroup
# became empty, and waits 90 s for the bomb's unit to stop; the pids cgroup says when the bomb is over.
limits_forkbomb() {
        local n=$1 p peak=0 cur base refused0 bad=0 deadline
        p=$(sandy_v1_cgroup pids "$n") || return 1
        refused0=$(v1_stat "$p/pids.events" max)
        base=$(cat "$p/pids.current")
        systemd-run -M "$n" --quiet --collect /usr/local/bin/sandy-limit-probe forkbomb "$2" "$3" || return 1
        deadline=$((SECONDS + $3 + 60))
        while [ $SECONDS -lt $deadline ]; do
                cur=$(cat "$p/pids.current" 2>/dev/null || echo 0)
                [ "$cur" -gt "$peak" ] && peak=$cur
                /bin/true || bad=$((bad + 1))
                [ "$peak" -gt $((base + 2)) ] && [ "$cur" -le $((base + 2)) ] && break # the bomb is over
                sleep 0.2
        done
        echo "peak $peak refused $(($(v1_stat "$p/pids.events" max) - refused0)) host_failed $bad"
}

# limits_cpu NAME SECS: burn CPU in NAME for SECS; prints "throttled T cpu C wall W": the periods the CFS
# quota throttled sandy@NAME during the run, and the CPU seconds the probe got in W seconds.
limits_cpu() {
        local n=$1 c t0 out
        c=$(sandy_v1_cgroup cpu "$n") || return 1
        t0=$(v1_stat "$c/cpu.stat" nr_throttled)
        out=$(limit_probe "$n" cpu "$2" 2>&1)
        echo "throttled $(($(v1_stat "$c/cpu.stat" nr_throttled) - t0)) ${out:-cpu ? wall ?}"
}

# declare_probed_sandbox NAME RESOURCES [SANDBOX-SETTING...]: declare_fixture_sandbox with the [Resources]
# lines RESOURCES (may be empty), its image seeded with the limit probe.
declare_probed_sandbox() {
        local name=$1 res=$2 text
        shift 2
        text=$(fixture_declaration "$@") || return 1
        printf '%s\n[Resources]\n%s\n' "$text" "$res" | declare_sandbox "$name" && seed_limit_probe "$name"
}

# stop_inactive NAME...: stop the sandboxes with one systemctl stop; each must end inactive (not failed).
stop_inactive() {
        local n units=() rc=0 st
        for n in "$@"; do units+=("sandy@$n.service"); done
        systemctl stop "${units[@]}"
        for n in "${units[@]}"; do
                st=$(systemctl is-active "$n")
                [ "$st" = inactive ] || { echo "$n: $st ($(systemctl show -p Result --value "$n"))"; rc=1; }
        done
        return $rc
}

# v1_cgroups_gone NAME: sandy@NAME.service has no cgroup left in the memory and pids hierarchies (v1).
v1_cgroups_gone() {
        wait_for 30 test ! -e "/sys/fs/cgroup/memory/machine.slice/sandy@$1.service" &&
                wait_for 30 test ! -e "/sys/fs/cgroup/pids/machine.slice/sandy@$1.service"
}

# system_running: the test host's systemd says "running" (nothing failed, nothing starting).
system_running() {
        local st
        st=$(systemctl is-system-running)
        echo "$st"
        [ "$st" = running ]
}

# ephemeral_size_supported: this build knows EphemeralSize= (issue 13), i.e. sandyctl verify does not call
# it an unknown key.
ephemeral_size_supported() {
        local d out
        d=$(mktemp -d) || return 1
        printf '[Sandbox]\nEphemeralSize=32M\n[Image]\nFrom=oci-archive:/x.tar\n[Network]\nMode=none\n' >"$d/eph.sandbox"
        out=$(sandyctl verify "$d/eph.sandbox" 2>&1)
        rm -rf "$d"
        ! grep -q "Unknown key EphemeralSize=" <<<"$out"
}

# stopped_clean NAME: sandy@NAME.service is inactive with Result=success, and its journal since the last
# mark_journal has no "Failed with result" (a stop on purpose is no failure).
stopped_clean() {
        local u="sandy@$1.service" st res
        wait_for 150 unit_settled "$u"
        st=$(systemctl show -p ActiveState --value "$u")
        res=$(systemctl show -p Result --value "$u")
        echo "$u: $st, Result=$res, ExecMainStatus=$(systemctl show -p ExecMainStatus --value "$u")"
        journal_since_mark -u "$u" | grep "Failed with result" && return 1
        [ "$st" = inactive ] && [ "$res" = success ]
}

# unit_settled UNIT: UNIT is neither active nor on its way somewhere (activating, deactivating, reloading).
unit_settled() {
        case $(systemctl show -p ActiveState --value "$1") in
        inactive | failed) return 0 ;;
        *) return 1 ;;
        esac
}

# mark_journal / journal_since_mark JOURNALCTL-ARGS...: the journal from the mark on.
mark_journal() {
        _journal_mark=$(journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p')
}
journal_since_mark() {
        journalctl --no-pager -q ${_journal_mark:+--after-cursor="$_journal_mark"} "$@"
}

# stop_clean NAME / poweroff_clean NAME: systemctl stop / machinectl poweroff, then stopped_clean.
stop_clean() {
        systemctl stop "sandy@$1.service"
        stopped_clean "$1"
}
poweroff_clean() {
        machinectl poweroff "$1" && stopped_clean "$1"
}

# unit_ended NAME STATE RESULT STATUS: sandy@NAME.service settled in ActiveState STATE with Result RESULT and
# the main process's exit status STATUS.
unit_ended() {
        local u="sandy@$1.service" got
        wait_for 60 unit_settled "$u"
        got="$(systemctl show -p ActiveState --value "$u") $(systemctl show -p Result --value "$u")"
        got="$got $(systemctl show -p ExecMainStatus --value "$u")"
        echo "$u: $got"
        [ "$got" = "$2 $3 $4" ]
}

# journal_failed NAME...: some sandy@NAME.service logged "Failed with result" since mark_journal.
journal_failed() {
        local n args=()
        for n in "$@"; do args+=(-u "sandy@$n.service"); done
        journal_since_mark "${args[@]}" | grep "Failed with result"
}

# declare_many PREFIX N SANDBOX-LINES MODE: PREFIX1..PREFIXN on the fixture image with network Mode=MODE,
# and one daemon-reload for all.
declare_many() {
        local i fixture
        fixture=$(fixture_dir) || return 1
        mkdir -p /etc/sandy.d
        for ((i = 1; i <= $2; i++)); do
                printf '[Sandbox]\n%s\n[Image]\nFrom=oci-archive:%s/fixture.oci.tar\n[Network]\nMode=%s\n' \
                        "$3" "$fixture" "$4" >"/etc/sandy.d/$1$i.sandbox" || return 1
        done
        systemctl daemon-reload
}

# count_is N FUNCTION ARGS...: FUNCTION prints a count (its details go to stderr); it must be N.
count_is() {
        local want=$1 got
        shift
        got=$("$@")
        echo "$got of $want"
        [ "$got" = "$want" ]
}
# active_units / inactive_units UNIT...: how many are in that state (the others are named on stderr).
units_in_state() {
        local want=$1 u st c=0
        shift
        for u in "$@"; do
                st=$(systemctl show -p ActiveState --value "$u")
                if [ "$st" = "$want" ]; then c=$((c + 1)); else echo "$u: $st" >&2; fi
        done
        echo $c
}
active_units() { units_in_state active "$@"; }
inactive_units() { units_in_state inactive "$@"; }
# answering NAME...: how many run `sandyctl exec NAME -- true`.
answering() {
        local n c=0
        for n in "$@"; do
                if sandyctl exec "$n" -- true </dev/null >/dev/null 2>&1; then c=$((c + 1)); else echo "$n does not answer" >&2; fi
        done
        echo $c
}

# many_counts PREFIX: "machines M netns P links L dnsmasq D nft_links E mounts R" for the sandboxes
# PREFIX<digits> (nft_links: sandbox links named in the elements of the "inet sandy" table).
many_counts() {
        local re="^$1[0-9]+\$"
        printf 'machines %s netns %s links %s dnsmasq %s nft_links %s mounts %s\n' \
                "$(machinectl list --no-legend 2>/dev/null | awk '{print $1}' | grep -cE "$re")" \
                "$(ls /run/sandy/netns 2>/dev/null | grep -cE "$re")" \
                "$(ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -c '^sb-')" \
                "$(pgrep -fa dnsmasq | grep -cE "/run/sandy/net/$1[0-9]+/")" \
                "$(nft list table inet sandy 2>/dev/null | grep -oE '"sb-[0-9a-f]{12}"' | sort -u | wc -l)" \
                "$(grep -cE " /run/sandy/$1[0-9]+/root " /proc/self/mountinfo)"
}
# many_resources_are PREFIX N: every probe of many_counts sees N sandboxes.
many_resources_are() {
        local got
        got=$(many_counts "$1")
        echo "$got"
        [ "$got" = "machines $2 netns $2 links $2 dnsmasq $2 nft_links $2 mounts $2" ]
}

# settled_nothing_left_of PREFIX: nothing_left_of, once the stop jobs still running (a sandbox's sandy-net@
# stops after it, in jobs of its own that `systemctl stop sandy@...` does not wait for) are done.
settled_nothing_left_of() {
        wait_for 60 nothing_left_of "$1"
        nothing_left_of "$1"
}

# nothing_left_of PREFIX: nothing of the sandboxes PREFIX<digits> exists: units other than inactive,
# machines, netns pins, sb- links, nft chains and sb- map elements, mounts, dnsmasq, runtime directories,
# address slots, installed .nspawn settings. Prints what it finds.
nothing_left_of() {
        local re="$1[0-9]+" found
        found=$(
                systemctl list-units --all --no-legend --plain "sandy@$1*" "sandy-net@$1*" "sandy-dns@$1*" \
                        "sandy-dns-inside@$1*" |
                        awk '$3 != "inactive" { print "unit: " $0 }'
                machinectl list --no-legend 2>/dev/null | awk '{print $1}' | grep -E "^$re\$" | sed 's/^/machine: /'
                ls /run/sandy/netns 2>/dev/null | grep -E "^$re\$" | sed 's/^/netns pin: /'
                ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^sb-' | sed 's/^/link: /'
                nft list table inet sandy 2>/dev/null | grep -E "sb_${re}_|\"?sb-[0-9a-f]{12}" | sed 's/^/nft: /'
                grep -E " /run/sandy/$re/" /proc/self/mountinfo | awk '{print "mount: " $5}'
                pgrep -fa dnsmasq | grep -E "/run/sandy/net/$re/" | sed 's/^/dnsmasq: /'
                ls -d /run/sandy/net/$1[0-9]* /run/sandy/$1[0-9]* /run/systemd/nspawn/$1[0-9]*.nspawn 2>/dev/null |
                        grep -E "/$re(\.nspawn)?\$" | sed 's/^/file: /'
                for l in /run/sandy/net/alloc/*; do
                        [ -L "$l" ] && readlink "$l" | grep -qE "^$re\$" && echo "address slot: $l -> $(readlink "$l")"
                done
        )
        [ -z "$found" ] || { echo "$found"; return 1; }
}

# sysctl_not_lower FILE: every "key = value" of the sysctl.d FILE names a setting this kernel has, with a
# number at least its current value (reading /proc/sys only: a drop-in must raise limits, never lower them).
sysctl_not_lower() {
        local key eq val f cur rc=0
        while read -r key eq val; do
                case $key in '' | '#'* | ';'*) continue ;; esac
                f=/proc/sys/${key//./\/}
                if [ "$eq" != = ] || ! [[ $val =~ ^[0-9]+$ ]]; then echo "$key: not 'key = number'"; rc=1
                elif [ ! -r "$f" ]; then echo "$key: no $f in this kernel"; rc=1
                else
                        cur=$(cat "$f")
                        echo "$key: $val (now $cur)"
                        [ "$val" -ge "$cur" ] || { echo "$key: $val would lower $cur"; rc=1; }
                fi
        done <"$1"
        return $rc
}

# sysctl_d_reads FILE: systemd-sysctl's configuration includes FILE (systemd-analyze cat-config sysctl.d).
sysctl_d_reads() {
        systemd-analyze cat-config sysctl.d | grep -qx "# $1"
}

# ---- issue 12: hostile image builds (53-build-hostile.sh, 54-build-cancel.sh)
PROBE_PORT=8712
HOST_PROBE=/src/tests/e2e/build-probe/probe.sh

# build_hostile_image OUT FORMAT: the fixture plus one layer: a probing /usr/sbin/useradd, the probe as
# /usr/local/sbin/sandy-probe, and a local apt repository (file:/srv/probe-repo, the only source) with the
# package sandy-probe, whose postinst runs the probe (or $HOSTILE_POSTINST; with HOSTILE_KEEP_USERADD set
# the image keeps its own useradd). FORMAT: oci-archive, oci or docker-archive.
build_hostile_image() {
        local out=$1 fmt=$2 t deb
        t=$(mktemp -d /var/tmp/sandy-hostile.XXXXXX) || return 1
        mkdir -p "$t/layer/usr/local/sbin" "$t/layer/usr/sbin" "$t/layer/srv/probe-repo" "$t/layer/etc/apt" \
                "$t/deb/DEBIAN" "$t/deb/usr/share/doc/sandy-probe"
        install -m 755 "$HOST_PROBE" "$t/layer/usr/local/sbin/sandy-probe"
        if [ -z "${HOSTILE_KEEP_USERADD:-}" ]; then
                printf '#!/bin/sh\n/usr/local/sbin/sandy-probe useradd\nexit 0\n' >"$t/layer/usr/sbin/useradd"
                chmod 755 "$t/layer/usr/sbin/useradd"
        fi
        printf 'Package: sandy-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: sandy tests <t@example.invalid>\nDescription: probe\n' \
                >"$t/deb/DEBIAN/control"
        printf '#!/bin/sh\n%s\nexit 0\n' "${HOSTILE_POSTINST:-/usr/local/sbin/sandy-probe postinst}" >"$t/deb/DEBIAN/postinst"
        chmod 755 "$t/deb/DEBIAN/postinst"
        echo probe >"$t/deb/usr/share/doc/sandy-probe/README"
        deb=$t/layer/srv/probe-repo/sandy-probe_1.0_all.deb
        dpkg-deb --root-owner-group -Zgzip --build "$t/deb" "$deb" >/dev/null || return 1
        {
                dpkg-deb -f "$deb"
                echo "Filename: ./sandy-probe_1.0_all.deb"
                echo "Size: $(stat -c %s "$deb")"
                echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
                echo
        } >"$t/layer/srv/probe-repo/Packages"
        echo "deb [trusted=yes] file:/srv/probe-repo ./" >"$t/layer/etc/apt/sources.list"
        python3 /src/tests/testhost/oci-add-layer.py "$FIXTURE_OCI" "$t/layer" "$out" "$fmt"
        local rc=$?
        rm -rf "$t"
        return $rc
}

# An HTTP listener on every address of the test host (127.0.0.1 and 192.0.2.2 among them).
probe_listener_start() {
        mkdir -p /var/tmp/sandy-probe-www && echo listener >/var/tmp/sandy-probe-www/index.html
        python3 -m http.server "$PROBE_PORT" --bind 0.0.0.0 --directory /var/tmp/sandy-probe-www >/dev/null 2>&1 &
        echo $! >/var/tmp/sandy-probe-www.pid
        wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$PROBE_PORT/"
}
probe_listener_stop() {
        [ -s /var/tmp/sandy-probe-www.pid ] && kill "$(cat /var/tmp/sandy-probe-www.pid)" 2>/dev/null
        rm -rf /var/tmp/sandy-probe-www /var/tmp/sandy-probe-www.pid
}

# probe_confined DIR: the probe's record in DIR shows a program with no privilege and no way out: a user
# namespace that is not the test host's, mapped to host IDs other than 0, another network namespace,
# core_pattern not writable, no_new_privs, a seccomp filter, and none of the test host's listener, the
# test host itself, LAN, CGNAT or metadata reached.
probe_confined() {
        local d=$1 hostns hostnet
        hostns=$(readlink /proc/self/ns/user)
        hostnet=$(readlink /proc/self/ns/net)
        [ -s "$d/done" ] || { echo "the probe did not run ($d)"; return 1; }
        [ "$(cat "$d/userns")" != "$hostns" ] || { echo "in the test host's user namespace"; return 1; }
        read -r inside outside _ <"$d/uid_map"
        [ "$inside" = 0 ] && [ "$outside" != 0 ] || { echo "uid_map: $(cat "$d/uid_map")"; return 1; }
        echo "uid in the initial namespace: $((outside + $(cat "$d/uid")))"
        [ "$(cat "$d/netns")" != "$hostnet" ] || { echo "in the test host's network namespace"; return 1; }
        grep -qx no "$d/core_pattern" || { echo "core_pattern is writable"; return 1; }
        grep -qx 1 "$d/nnp" || { echo "no no_new_privs"; return 1; }
        grep -qx 2 "$d/seccomp" || { echo "no seccomp filter"; return 1; }
        if grep -v '^203\.0\.113\.10:' "$d/reach" | grep -q ' yes$'; then
                echo "reached: $(grep ' yes$' "$d/reach" | tr '\n' ' ')"
                return 1
        fi
}

# probe_unconfined DIR: the positive control: the same probe, run by the test host's root with a /proc
# of its own, sees the host's namespaces, a writable core_pattern and reaches the listener and the LAN.
probe_unconfined() {
        local d=$1
        [ "$(cat "$d/userns")" = "$(readlink /proc/self/ns/user)" ] && grep -qx yes "$d/core_pattern" &&
                grep -qx "127.0.0.1:$PROBE_PORT yes" "$d/reach" && grep -qx "192.168.77.1:80 yes" "$d/reach"
}

# unpack_watch OUT: record (to OUT) every process of sandy-helper's binary, other than the service's main
# process, that has no child and whose root is not the test host's: the OCI unpacker's extraction child
# (and any other confined run of the helper's own code). The confinement's "(sandy-init)", which sets up
# a run's mounts as root and runs nothing of the image, is left out. Runs until killed.
unpack_watch() {
        exec python3 /src/tests/e2e/build-probe/unpack-watch.py "$1"
}

# probe_unpacker_confined OUT: what unpack_watch saw: at least one such process, and every one of them
# with a host UID other than 0, in its own user and network namespaces, no_new_privs and seccomp.
probe_unpacker_confined() {
        [ -s "$1" ] || { echo "no unpacker process was seen"; return 1; }
        cat "$1"
        python3 - "$1" "$(readlink /proc/self/ns/user)" "$(readlink /proc/self/ns/net)" <<'PY'
import sys
bad = []
for line in open(sys.argv[1]):
    p = dict(kv.split("=", 1) for kv in line.split())
    if p["uid"] == "0": bad.append("uid 0")
    if p["userns"] == sys.argv[2]: bad.append("host user namespace")
    if p["netns"] == sys.argv[3]: bad.append("host network namespace")
    if p["nnp"] != "1": bad.append("no no_new_privs")
    if p["seccomp"] != "2": bad.append("no seccomp")
    if p["ifaces"] not in ("lo", ""): bad.append("interfaces " + p["ifaces"])
sys.exit("unconfined: " + ", ".join(sorted(set(bad))) if bad else 0)
PY
}

# ---- issue 14: egress through host firewall reloads (tests/e2e/55-59)
# in_sandbox NAME 'SHELL CODE': run inside the sandbox, through its own systemd (so its own resolv.conf).
in_sandbox() { machinectl --quiet shell "$1" /bin/bash -c "$2" 2>&1 | tr -d '\r'; }
# sb_reaches NAME HOST PORT [ADDR]: curl from inside NAME to HOST:PORT got the canary of ADDR (default HOST),
# and the canary logged the connection.
sb_reaches() {
        local n=$1 h=$2 p=$3 a=${4:-$2} m out
        m=$(canary_mark)
        out=$(in_sandbox "$n" "curl -s -m 3 $(canary_url "$h" "$p"); echo rc=\$?")
        echo "$out"
        echo "$out" | grep -q "^canary $a " && [ "$(canary_hits_since "$m" "$a" "$p")" -ge 1 ]
}
# sb_blocked NAME ADDR PORT: no answer, and the canary saw nothing.
sb_blocked() {
        local n=$1 a=$2 p=$3 m out
        m=$(canary_mark)
        out=$(in_sandbox "$n" "curl -s -m 3 $(canary_url "$a" "$p"); echo rc=\$?")
        echo "$out"
        ! echo "$out" | grep -q "^canary " && [ "$(canary_hits_since "$m" "$a" "$p")" = 0 ]
}
# host_reaches ADDR PORT: the control: the test host itself reaches the canary.
host_reaches() {
        local m
        m=$(canary_mark)
        curl -s -m 3 "$(canary_url "$1" "$2")" | grep -q "^canary $1 " && [ "$(canary_hits_since "$m" "$1" "$2")" -ge 1 ]
}
# sb_host_blocked NAME URL / host_serves URL: a service of the test host itself, from a sandbox and from the host.
sb_host_blocked() { ! in_sandbox "$1" "curl -s -m 3 $2" | grep -q 'Directory listing'; }
host_serves() { curl -s -m 3 "$1" | grep -q 'Directory listing'; }
# table_back_within MS: poll until the host's table inet sandy exists; fail after MS milliseconds. Prints the
# time it took.
table_back_within() {
        local start=$(date +%s%N) now
        while :; do
                now=$(date +%s%N)
                if nft list chain inet sandy egress >/dev/null 2>&1; then
                        echo "back after $(((now - start) / 1000000)) ms"
                        return 0
                fi
                [ $(((now - start) / 1000000)) -lt "$1" ] || { echo "not back after $1 ms"; return 1; }
                sleep 0.02
        done
}
# sb_addr4 NAME: the sandbox's IPv4 address; sb_gw4 NAME: the host side of its link.
sb_addr4() { nsenter --net=/run/sandy/netns/"$1" ip -4 -o addr show dev sandy0 | awk '{print $4}' | cut -d/ -f1; }
sb_gw4() { nsenter --net=/run/sandy/netns/"$1" ip -4 route show default | cut -d' ' -f3; }
export -f in_sandbox sb_reaches sb_blocked host_reaches sb_host_blocked host_serves table_back_within sb_addr4 sb_gw4

# ---- issue 18: the registry and mirrors of the upstream network (tests/testhost/upstream-registry.sh) ----

# registry_env: REGISTRY (HTTPS, login), REGISTRY_PLAIN (HTTP), REGISTRY_USER/PASSWORD, REGISTRY_STORAGE,
# REGISTRY_LOG_TLS/PLAIN, MIRROR_URL, AGENTS_CACHE of this test host; fails when it has no registry.
registry_env() {
        [ -r /etc/testhost/registry.env ] || return 1
        . /etc/testhost/registry.env
        [ -n "${REGISTRY:-}" ]
}
# registry_auth_json USER PASSWORD [DOMAIN]: a containers-auth.json(5) with one login.
registry_auth_json() {
        printf '{"auths": {"%s": {"auth": "%s"}}}\n' "${3:-$REGISTRY}" "$(printf '%s:%s' "$1" "$2" | base64 -w0)"
}
# registry_push SOURCE NAME:TAG [SKOPEO-OPTION...]: skopeo copy SOURCE (oci-archive:FILE, oci:DIR:REF) into the
# HTTPS registry, logged in (both ports serve the same storage).
registry_push() {
        local src=$1 dst=$2
        shift 2
        skopeo copy -q --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "$@" "$src" "docker://$REGISTRY/$dst"
}
# registry_digest NAME:TAG: the digest of the manifest the registry has for it.
registry_digest() {
        echo "sha256:$(skopeo inspect --raw --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/$1" |
                sha256sum | cut -d' ' -f1)"
}
# blob_gets LOG REPO DIGEST: the successful GETs of a blob in a registry's access log.
blob_gets() {
        grep -cE "\"GET /v2/$2/blobs/$3 HTTP/[0-9.]+\" 200 " "$1"
}
# sandbox_image_id NAME: the content address of NAME's image.
sandbox_image_id() {
        basename "$(dirname "$(image_rootfs "$1")")"
}
# image_gone ID: the store has neither the image nor a temporary tree of it.
image_gone() {
        local s=/var/lib/sandy/images
        if [ -e "$s/$1" ] || compgen -G "$s/.tmp-$1-*" >/dev/null; then
                echo "left in the store: $(ls -d "$s/$1" "$s/.tmp-$1-"* 2>/dev/null)"
                return 1
        fi
}
# build_error NAME: sandyctl build NAME fails; prints the lines of its reason (one, if all is well).
build_error() {
        local out
        if out=$(sandyctl --no-pager build "$1" 2>&1); then
                echo "the build of $1 succeeded: $out"
                return 1
        fi
        grep -v "^Building the image of $1 (job" <<<"$out"
}
# one_line_matches TEXT REGEX: TEXT is one line, and it matches.
one_line_matches() {
        [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] || { echo "more than one line:"; echo "$1"; return 1; }
        grep -qE -- "$2" <<<"$1" || { echo "does not match /$2/: $1"; return 1; }
}
# cached_blob DIGEST: the blob cache of docker:// pulls has it.
cached_blob() {
        test -f "/var/lib/sandy/blobs/sha256/${1#sha256:}"
}
# pull_sandbox NAME FROM [LINE...]: a sandbox of the image FROM that runs nothing and has no network; the
# LINEs go into [Sandbox].
pull_sandbox() {
        local name=$1 from=$2
        shift 2
        printf '[Sandbox]\nBoot=no\nCommand=/bin/true\nOwner=alice\n%s\n[Image]\nFrom=%s\n[Network]\nMode=none\n' \
                "$(printf '%s\n' "$@")" "$from" | declare_sandbox "$name"
}
# job_progress_watch OUT: record the Progress and Status changes of sandy-helper's build jobs (busctl
# monitor) into OUT until killed.
job_progress_watch() {
        exec busctl --system monitor --json=short \
                --match "type='signal',sender='org.sandy.Helper1',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
                >"$1" 2>/dev/null
}
# job_progress_seen OUT REGEX: the watch saw Status values matching REGEX with a Progress strictly
# between 0 and 1, and more than one distinct Progress value while they were reported.
job_progress_seen() {
        python3 - "$1" "$2" <<'PY'
import json, re, sys
seen = []
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    data = m.get("payload", {}).get("data", [])
    if len(data) < 2:
        continue
    props = data[1]
    p = props.get("Progress", {}).get("data")
    s = props.get("Status", {}).get("data")
    if p is not None and s is not None and re.search(sys.argv[2], s):
        seen.append((p, s))
inside = [p for p, _ in seen if 0 < p < 1]
print(seen[:3], "...", seen[-3:], len(seen))
sys.exit(0 if len(set(inside)) > 1 else 1)
PY
}
# agent_base_push: the agents' base image (Debian 13 with Node.js and npm, from build-agent-cache.sh) with
# the upstream mirrors configured as a company's would be, pushed as agent-base:trixie (once per test host):
# apt sources and npm's registry (/etc/npmrc) name the mirror by address, since the build network's
# resolver drops answers in TEST-NET ranges.
agent_base_push() {
        local t r=0
        [ -n "${MIRROR_URL:-}" ] && [ -f "${AGENTS_CACHE:-}/base.oci.tar" ] || { echo "no agent cache"; return 1; }
        skopeo inspect --raw --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$REGISTRY/agent-base:trixie" \
                >/dev/null 2>&1 && return 0
        t=$(mktemp -d /var/tmp/sandy-agent-base.XXXXXX) || return 1
        mkdir -p "$t/layer/etc/apt"
        echo "deb [trusted=yes] $MIRROR_URL/debian trixie main" >"$t/layer/etc/apt/sources.list"
        echo "registry=$MIRROR_URL/npm/" >"$t/layer/etc/npmrc"
        python3 /src/tests/testhost/oci-add-layer.py "$AGENTS_CACHE/base.oci.tar" "$t/layer" "$t/image.tar" oci-archive &&
                registry_push "oci-archive:$t/image.tar" agent-base:trixie || r=1
        rm -rf "$t"
        return $r
}
# mirror_gets REGEX [MARK]: the mirror's GETs (after line MARK of its log) whose path matches REGEX.
mirror_gets() {
        tail -n +"$((${2:-0} + 1))" "$MIRROR_LOG" | awk '$3 == "GET" {print $4, $5}' | grep -cE -- "$1"
}

# ---- issue 16: verify, images, status and start as a member; shared by 20, 76 and 77.

# journal_since_lacks CURSOR TEXT: nothing logged after CURSOR contains TEXT.
journal_since_lacks() {
        local out
        out=$(journalctl --after-cursor="$1" --no-pager -o cat | grep -F -- "$2") || return 0
        echo "logged: $out"
        return 1
}
# (journal_cursor and journal_since_has: issue 15's, above.)
# both_inactive UNIT...: none of the units is active or on its way (for wait_for after a stop or failure).
both_inactive() {
        local u s
        for u; do
                s=$(systemctl show -P ActiveState "$u")
                case $s in inactive | failed) ;; *) echo "$u is $s"; return 1 ;; esac
        done
}
# image_not_built NAME: sandyctl images says that NAME's image is not built (and knows it).
image_not_built() {
        sandyctl --json=short images | python3 -c '
import json, sys
sys.exit(not any(i["built"] is False and sys.argv[1] in i["sandboxes"] for i in json.load(sys.stdin)))' "$1"
}
# fake_ssh DIR: an "ssh" in DIR that logs its arguments to DIR/calls and runs the remote command here
# (no sshd in the test host), so -H takes its real code path.
fake_ssh() {
        cat >"$1/ssh" <<'EOS'
#!/bin/sh
echo "ssh $*" >>"${0%/*}/calls"
while [ $# -gt 0 ]; do
        case $1 in
        --) shift; break ;;
        -[eolpiFJ]) shift 2 ;;
        -*) shift ;;
        *) break ;;
        esac
done
shift # the host
[ "${1:-}" = -- ] && shift
exec "$@"
EOS
        chmod +x "$1/ssh"
}
# json_check JSON PYTHON: PYTHON's assertions hold for j, the parsed JSON (says what when they do not).
json_check() {
        python3 -c '
import json, sys
j = json.loads(sys.argv[1])
exec(sys.argv[2])' "$1" "$2"
}

# ---- issue 16c: sandyctl logs for members (89-logs.sh), the README's steps (88-readme.sh) ----------------

# logs_units_of UID: the sandy-logs units (journal readers sandy-helper started) PID 1 has for UID, one a line.
logs_units_of() { systemctl list-units --all --no-legend --plain "sandy-logs-$1-*" | awk '{print $1}'; }
# no_logs_units_of UID: none left (a reader that went away took them along).
no_logs_units_of() {
        local l
        l=$(logs_units_of "$1")
        [ -z "$l" ] || { echo "still there: $l"; return 1; }
}
# logs_units_count_is UID N: exactly N of them.
logs_units_count_is() {
        local n
        n=$(logs_units_of "$1" | grep -c .)
        [ "$n" = "$2" ] || { echo "$n units, not $2"; return 1; }
}
# follow_logs_start USER NAME OUT: "sandyctl logs -f -n 0 NAME" as USER in the background, its output in OUT;
# prints the PID of sandyctl itself (not of a shell around it), to end it with kill.
follow_logs_start() {
        local pidfile
        pidfile=$(mktemp /tmp/e2e-follow.XXXXXX)
        chmod 0666 "$pidfile"
        : >"$3" && chmod 0666 "$3"
        # shellcheck disable=SC2016  # expanded by the inner shell
        as_user "$1" sh -c 'echo $$ >"$1"; exec sandyctl logs -f -n 0 "$2"' sh "$pidfile" "$2" >"$3" 2>&1 &
        wait_for 10 test -s "$pidfile" || return 1
        cat "$pidfile"
        rm -f "$pidfile"
}
# seed_logs_probes NAME: seed_user_image, plus probes in /usr/local/bin run as root inside (files, because
# machinectl shell takes some arguments as its own options):
#   sandy-test-console FORMAT     printf FORMAT to the sandbox's console (what nspawn passes to the journal)
#   sandy-test-journal TEXT       TEXT into the sandbox's own journal (systemd-cat -t e2e-inside)
#   sandy-test-journal-links ID   in the sandbox's journal directory, symlinks to the host's journal ID
#                                 (absolute paths: resolved on the host by whoever follows them)
#   sandy-test-journal-swap       its journal directory replaced by a symlink to the host's
seed_logs_probes() {
        local r
        seed_user_image "$1" || return 1
        r=$(image_rootfs "$1") || return 1
        printf '%s\n' '#!/bin/sh' 'printf "$1" >/dev/console' >"$r/usr/local/bin/sandy-test-console" || return 1
        printf '%s\n' '#!/bin/sh' 'echo "$1" | systemd-cat -t e2e-inside' >"$r/usr/local/bin/sandy-test-journal" ||
                return 1
        printf '%s\n' '#!/bin/sh' 'd=/var/log/journal/$(cat /etc/machine-id)' \
                'ln -s "/var/log/journal/$1/system.journal" "$d/host.journal"' \
                'ln -s "/var/log/journal/$1" "/var/log/journal/$1"' 'ls -l "$d" /var/log/journal' \
                >"$r/usr/local/bin/sandy-test-journal-links" || return 1
        printf '%s\n' '#!/bin/sh' 'mv /var/log/journal /var/log/journal.orig' \
                'ln -s /var/log/./journal /var/log/journal' 'ls -ld /var/log/journal' \
                >"$r/usr/local/bin/sandy-test-journal-swap" || return 1
        chmod 0755 "$r"/usr/local/bin/sandy-test-console "$r"/usr/local/bin/sandy-test-journal \
                "$r"/usr/local/bin/sandy-test-journal-links "$r"/usr/local/bin/sandy-test-journal-swap
}
# no_process_matching REGEX: no process's command line matches (pgrep -f).
no_process_matching() {
        local l
        l=$(pgrep -af -- "$1") || return 0
        echo "still running: $l"
        return 1
}
# journal_tag_has TAG TEXT: the journal has a line with SYSLOG_IDENTIFIER TAG and TEXT.
journal_tag_has() { journalctl -t "$1" --no-pager -o cat | grep -qF -- "$2"; }
# journal_raw_has UNIT TEXT: this boot's journal of UNIT has TEXT byte for byte (journalctl -a: no
# "[N blob data]" for lines with control characters).
journal_raw_has() { journalctl -b -a -o cat -u "$1" --no-pager | grep -qF -- "$2"; }
# logs_show USER NAME REGEX...: "sandyctl logs -n all NAME" as USER (root: as root) has a line matching each.
logs_show() {
        local u=$1 n=$2 out
        shift 2
        if [ "$u" = root ]; then out=$(sandyctl --no-pager logs -n all "$n" 2>&1); else
                out=$(as_user "$u" sandyctl --no-ask-password --no-pager logs -n all "$n" 2>&1); fi
        output_matches "$out" "$@"
}
# readme_blocks README SECTION...: the fenced code blocks of these sections ("## NAME") of README, as JSON
# [{"kind": KIND, "section": NAME, "text": TEXT}], KIND from the comment "<!-- 88-readme.sh: KIND -->"
# right above the block. Fails, saying which, when a block there has no such comment: every command these
# sections show is run by 88-readme.sh, so none can drift unnoticed.
readme_blocks() {
        python3 - "$@" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
wanted, blocks, bad = sys.argv[2:], [], []
for sec in re.split(r"^(?=## )", text, flags=re.M):
    name = sec.splitlines()[0][3:].strip() if sec.startswith("## ") else ""
    if name not in wanted:
        continue
    wanted.remove(name)
    for m in re.finditer(r"(?:<!-- 88-readme\.sh: (\S+) -->\n)?```[a-z]*\n(.*?)^```$", sec, re.S | re.M):
        if not m.group(1):
            bad.append("%s: a block without <!-- 88-readme.sh: KIND -->: %r" % (name, m.group(2)[:60]))
        blocks.append({"kind": m.group(1), "section": name, "text": m.group(2)})
if wanted:
    bad.append("no section %s" % ", ".join(wanted))
if bad:
    sys.exit("\n".join(bad))
print(json.dumps(blocks))
PY
}
# readme_block JSON N FIELD: field FIELD (kind, section, text) of block N.
readme_block() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[int(sys.argv[2])][sys.argv[3]], end="")' "$@"; }
# readme_seeding_sandyctl: a "sandyctl" shell function (exported, for scripts too) that seeds the image of a
# sandbox before "sandyctl build NAME" or "start NAME" (the test host cannot debootstrap from the network),
# then runs the real sandyctl.
readme_seeding_sandyctl() {
        sandyctl() {
                case ${1:-} in
                build | start)
                        local n
                        for n in "${@:2}"; do
                                case $n in -*) ;; *) seed_user_image "$n" >/dev/null || return 1 ;; esac
                        done
                        ;;
                esac
                command sandyctl "$@"
        }
        export -f sandyctl fixture_dir image_rootfs seed_image seed_user_image
        export FIXTURE_DIR FIXTURE_OCI
}
# pty_type_as USER TRIGGER INPUT FILE: run the script FILE with bash -e as USER (as as_user does: a login-like
# environment, with the groups USER has now, as after logging in again), on a terminal of its own; once
# its output matches the regular expression TRIGGER, type INPUT. Prints what the terminal showed (no CRs);
# the script's exit status. For interactive steps such as "sandyctl shell NAME": the test types for a
# person. SYSTEMD_PAGER=cat: nobody is there to leave a pager.
pty_type_as() {
        local u=$1 trigger=$2 input=$3 file=$4
        python3 - "$trigger" "$input" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- \
                /bin/sh -c 'cd "$HOME" 2>/dev/null || cd /; exec env SYSTEMD_PAGER=cat bash -e "$1"' sh "$file" <<'PY'
import fcntl, os, pty, re, select, struct, sys, termios, time
trigger, typed = re.compile(sys.argv[1].encode()), sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
out, sent, deadline = b"", False, time.monotonic() + 300
while time.monotonic() < deadline:
    if not select.select([fd], [], [], 1)[0]:
        continue
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and trigger.search(out):
        os.write(fd, typed)
        sent = True
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out.replace(b"\r", b""))
if not sent:
    print("\n(never saw /%s/, typed nothing)" % sys.argv[1])
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
# logs_hold_start USER NAME STATE: as USER, a D-Bus client of its own (python, no bindings: it must keep
# descriptors after closing its connection, which busctl cannot) calls sandy-helper's Logs NAME --follow
# and keeps both read ends, unread; it writes "ready N" (N descriptors received) or "error TEXT" to STATE.
# On SIGUSR1 it closes its bus connection, keeping the descriptors, and writes "closed"; SIGTERM ends it.
# Prints its PID.
logs_hold_start() {
        local pidfile
        pidfile=$(mktemp /tmp/e2e-hold.XXXXXX)
        chmod 0666 "$pidfile"
        : >"$3" && chmod 0666 "$3"
        # shellcheck disable=SC2016  # expanded by the inner shell
        as_user "$1" sh -c 'echo $$ >"$1"; exec python3 -c "$2" "$3" "$4"' sh "$pidfile" "$(cat <<'PY'
import array, os, signal, socket, struct, sys, time
name, state = sys.argv[1], sys.argv[2]
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
def say(s):
    with open(state, "w") as f: f.write(s + "\n")
def pad(b, n): b += b"\0" * (-len(b) % n)
def s_(b, v, t="s"):
    v = v.encode()
    if t == "g": b += bytes([len(v)]) + v + b"\0"
    else: pad(b, 4); b += struct.pack("<I", len(v)) + v + b"\0"
def msg(serial, path, iface, member, dest, sig="", body=b""):
    f = bytearray()
    for code, t, v in ((1, "o", path), (2, "s", iface), (3, "s", member), (6, "s", dest)) + (((8, "g", sig),) if sig else ()):
        pad(f, 8); f += bytes([code, 1]) + t.encode() + b"\0"; s_(f, v, t)
    h = bytearray(b"l\1\0\1" + struct.pack("<III", len(body), serial, len(f)) + f)
    pad(h, 8)
    return bytes(h) + body
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("/run/dbus/system_bus_socket")
sock.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
assert sock.recv(4096).startswith(b"OK")
sock.sendall(b"NEGOTIATE_UNIX_FD\r\n")
assert sock.recv(4096).startswith(b"AGREE_UNIX_FD")
sock.sendall(b"BEGIN\r\n")
sock.sendall(msg(1, "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "org.freedesktop.DBus"))
body = bytearray(); s_(body, name); pad(body, 4)
arr = bytearray(); s_(arr, "--follow")
body += struct.pack("<I", len(arr)) + arr
sock.sendall(msg(2, "/org/sandy/Helper1", "org.sandy.Helper1.State", "Logs", "org.sandy.Helper1", "sas", bytes(body)))
buf, fds, deadline = b"", [], time.monotonic() + 60
while time.monotonic() < deadline:
    data, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, typ, d in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            a = array.array("i"); a.frombytes(d[: len(d) - len(d) % 4]); fds += list(a)
    if not data: break
    buf += data
    while len(buf) >= 16:
        blen, _, flen = struct.unpack("<III", buf[4:16])
        total = 16 + flen + (-flen % 8) + blen
        if len(buf) < total: break
        m, buf = buf[:total], buf[total:]
        fields = m[16:16 + flen]
        # the reply_serial field (5, "u"): the 8-aligned entry "\5\1u\0" then the value
        i = fields.find(b"\x05\x01u\x00")
        rs = struct.unpack("<I", fields[i + 4:i + 8])[0] if i >= 0 else 0
        if rs == 2 and m[1] == 3:
            say("error " + m[16 + flen + (-flen % 8):].decode(errors="replace")); sys.exit(1)
        if rs == 2 and m[1] == 2:
            say("ready %d" % len(fds))
            signal.sigwait([signal.SIGUSR1])
            sock.close()
            say("closed")
            signal.sigwait([signal.SIGTERM])
            sys.exit(0)
say("error no reply")
PY
)" "$2" "$3" >/dev/null 2>&1 &
        wait_for 10 test -s "$pidfile" || return 1
        cat "$pidfile"
        rm -f "$pidfile"
}
# holds_pipes PID N: process PID has at least N pipes open.
holds_pipes() {
        local n
        n=$(find "/proc/$1/fd" -lname 'pipe:*' 2>/dev/null | grep -c .)
        [ "$n" -ge "$2" ] || { echo "$n pipes"; return 1; }
}

# ---- issue 16 (member image removal)
# image_id_of NAME: the full ID of the image NAME's declaration gives (built or not).
image_id_of() {
        sandyctl --json=short images | python3 -c '
import json, sys
print(next(i["id"] for i in json.load(sys.stdin) if sys.argv[1] in i["sandboxes"]))' "$1"
}

# ---- issue 18b: docker:// with skopeo (90-registry.sh) ----

# registry_push_fixtures WORK: the fixture as fixture:1, WORK/plus.tar as plus:1, WORK/bad.tar as damaged:1 and
# the index WORK/multi as multi:1 (all its platforms).
registry_push_fixtures() {
        registry_push "oci-archive:$FIXTURE_OCI" fixture:1 && registry_push "oci-archive:$1/plus.tar" plus:1 &&
                registry_push "oci-archive:$1/bad.tar" damaged:1 && registry_push "oci:$1/multi:multi" multi:1 --all
}
# registry_blob_damaged DIGEST: the registry's storage holds content for DIGEST that does not hash to it.
registry_blob_damaged() {
        local f=$REGISTRY_STORAGE/docker/registry/v2/blobs/sha256/${1:7:2}/${1#sha256:}/data
        [ -f "$f" ] && [ "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" != "$1" ]
}
# rootfs_is_fixture ROOTFS: the fixture's Debian 12 with the sandbox user.
rootfs_is_fixture() {
        grep -q VERSION_CODENAME=bookworm "$1/etc/os-release" && grep -q '^agent:' "$1/etc/passwd"
}
# pull_left_nothing ID: no temporary tree in the store, no pull directory left in the image.
pull_left_nothing() {
        ! compgen -G '/var/lib/sandy/images/.tmp-*' >/dev/null && ! test -e "/var/lib/sandy/images/$1/pull"
}
# job_status_seen OUT REGEX: the watch of job_progress_watch saw a Status matching REGEX with a Progress
# strictly between 0 and 1.
job_status_seen() {
        python3 - "$1" "$2" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    try:
        data = json.loads(line).get("payload", {}).get("data", [])
    except ValueError:
        continue
    if len(data) < 2:
        continue
    p = data[1].get("Progress", {}).get("data")
    s = data[1].get("Status", {}).get("data")
    if p is not None and s is not None and 0 < p < 1 and re.search(sys.argv[2], s):
        print(p, s)
        sys.exit(0)
sys.exit(1)
PY
}
# index_entry_digest LAYOUT ARCH: the digest of the linux/ARCH image of the index the layout's one entry is.
index_entry_digest() {
        python3 - "$1" "$2" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda dg: json.load(open(d + "/blobs/sha256/" + dg.split(":")[1]))
index = blob(json.load(open(d + "/index.json"))["manifests"][0]["digest"])
print(next(m["digest"] for m in index["manifests"] if m.get("platform", {}).get("architecture") == sys.argv[2]))
PY
}
# helper_journal_has TEXT: sandy-helper's journal has a line containing TEXT.
helper_journal_has() {
        journalctl -u sandy-helper --no-pager -o cat | grep -qF -- "$1"
}
# sandbox_journal_has NAME TEXT: the journal has a line containing TEXT with SANDBOX=NAME.
sandbox_journal_has() {
        journalctl SANDBOX="$1" --no-pager -o cat | grep -qF -- "$2"
}
# rootfs_is_host_platform ROOTFS: the image of the two-platform index for this machine, not the foreign one.
rootfs_is_host_platform() {
        test -f "$1/etc/debian_version" && ! test -e "$1/foreign-arch"
}
# registry_got_since LOG MARK REPO DIGEST: the registry served the blob after line MARK of its access log.
registry_got_since() {
        tail -n +"$(($2 + 1))" "$1" | grep -qE "GET /v2/$3/blobs/$4 "
}
# image_pruned OUT ID: Prune's reply OUT names ID, and the store no longer has it.
image_pruned() {
        grep -q "$2" <<<"$1" && ! test -e "/var/lib/sandy/images/$2"
}
# blob_cache_empty: the blob cache of docker:// pulls holds nothing.
blob_cache_empty() {
        [ -z "$(ls -A /var/lib/sandy/blobs/sha256)" ]
}
# plant_foreign_logins USER PASSWORD: the login in every place skopeo, podman or docker would look for one of
# root (the helper's HOME and runtime directory) and of alice (who starts builds); none of them is sandy's.
plant_foreign_logins() {
        local f
        for f in /root/.docker/config.json /root/.config/containers/auth.json /run/containers/0/auth.json \
                /home/alice/.config/containers/auth.json /run/user/1001/containers/auth.json \
                /home/alice/.docker/config.json; do
                # alice's runtime directory only when logind made one (never made here)
                [[ $f != /run/user/1001/* || -d /run/user/1001 ]] || continue
                mkdir -p "$(dirname "$f")"
                (umask 077 && registry_auth_json "$1" "$2" >"$f")
        done
        chown -R alice: /home/alice/.config /home/alice/.docker
        [ -d /run/user/1001 ] && chown -R alice: /run/user/1001/containers
        return 0
}
remove_foreign_logins() {
        rm -rf /root/.docker /root/.config/containers /run/containers/0/auth.json /home/alice/.config/containers \
                /run/user/1001/containers /home/alice/.docker
}
# skopeo_build_pid: the PID of a skopeo that a build of sandy-helper runs (in a build cgroup of the helper's).
skopeo_build_pid() {
        local p
        for p in /proc/[0-9]*; do
                [ "$(cat "$p/comm" 2>/dev/null)" = skopeo ] || continue
                grep -q '/sandy-helper\.service/build-' "$p/cgroup" 2>/dev/null || continue
                echo "${p#/proc/}"
                return 0
        done
        return 1
}
# proc_ids_are PID ID: every UID and GID of PID (real, effective, saved, fs) is ID, with no supplementary group.
proc_ids_are() {
        awk -v id="$2" '/^(Uid|Gid):/ { for (i = 2; i <= 5; i++) if ($i != id) bad = 1 }
                /^Groups:/ { if (NF > 1) bad = 1 } END { exit bad }' "/proc/$1/status" || { grep -E '^(Uid|Gid|Groups):' "/proc/$1/status"; return 1; }
}
# proc_caps_none PID: no capability in any set, no_new_privs, a seccomp filter.
proc_caps_none() {
        local s=/proc/$1/status k
        for k in CapInh CapPrm CapEff CapBnd CapAmb; do
                [ "$(awk -v k="$k:" '$1 == k { print $2 }' "$s")" = 0000000000000000 ] || { grep "^$k:" "$s"; return 1; }
        done
        grep -qE '^NoNewPrivs:\s+1$' "$s" && grep -qE '^Seccomp:\s+2$' "$s"
}
# proc_fds_own PID: PID's fds are its standard ones (/dev/null, pipes), what it opened itself (TCP sockets,
# epoll and the like, files of its pull directory) and the login it is handed; no unix socket (the helper's
# bus, the journal) and no other file. Prints the others.
proc_fds_own() {
        local fd t i bad=0 unix
        unix=$(awk 'NR > 1 { print $7 }' "/proc/$1/net/unix")
        for fd in /proc/"$1"/fd/*; do
                t=$(readlink "$fd") || continue
                case $t in
                /dev/null | pipe:* | anon_inode:* | /memfd:sandy-registry-login*) ;;
                socket:*)
                        i=${t#socket:[}
                        if grep -qx "${i%]}" <<<"$unix"; then echo "fd ${fd##*/}: a unix socket ($t)"; bad=1; fi ;;
                /run/sandy-build/fetch/* | */pull/*) ;;
                *) echo "fd ${fd##*/}: $t"; bad=1 ;;
                esac
        done
        return $bad
}
# proc_sees_no_logins PID: PID's /root, /home and /run/user are empty or absent (where Docker, podman and
# skopeo look for a login).
proc_sees_no_logins() {
        local d
        for d in root home run/user run/containers; do
                [ -z "$(ls -A "/proc/$1/root/$d" 2>/dev/null)" ] || { echo "/$d: $(ls -A "/proc/$1/root/$d")"; return 1; }
        done
}
# proc_gone PID: no such process (any more).
proc_gone() { ! test -e "/proc/$1"; }
# cgroup_of PID: its cgroup v2 path under /sys/fs/cgroup.
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
# cgroup_empty PATH: the cgroup is gone or has no process.
cgroup_empty() { ! test -e "/sys/fs/cgroup$1/cgroup.procs" || [ -z "$(cat "/sys/fs/cgroup$1/cgroup.procs")" ]; }
# job_of OUT: the job path sandyctl build printed into OUT.
job_of() { sed -n 's/.*(job \(\/org\/sandy\/Helper1\/job\/[0-9]*\)).*/\1/p' "$1" | head -n 1 | grep .; }
# uid_is_range_nobody UID: UID is 65534 of a range of 65536 host IDs (sandy's ranges start at multiples of it).
uid_is_range_nobody() { [ "$1" -ge 65536 ] && [ "$((($1 + 2) % 65536))" = 0 ]; }

# ---- issue 17 (part 2): lean boot, start timeout, doctor limits -------------------------------------------

# hang_image_setup PATH SECONDS: write the Setup= script PATH, which takes SECONDS to build and makes the
# image's systemd an init that never reports ready (nspawn looks for /usr/lib/systemd/systemd first).
hang_image_setup() {
        mkdir -p "$(dirname "$1")"
        cat >"$1" <<EOT
#!/bin/sh
set -e
sleep $2
printf '#!/bin/sh\nexec sleep infinity\n' >/usr/lib/systemd/systemd
chmod 0755 /usr/lib/systemd/systemd
EOT
        chmod 0755 "$1"
}
# status_says_timeout NAME: `systemctl status sandy@NAME` shows the start timed out.
status_says_timeout() {
        local out
        out=$(systemctl status --no-pager -n 20 "sandy@$1.service" 2>&1)
        echo "$out" | grep -qE "Result: timeout|timed out|start operation timed out" || { echo "$out"; return 1; }
}
# in_booted NAME CMD...: run CMD as root through the booted sandbox NAME's own systemd; its exit status.
in_booted() {
        local n=$1
        shift
        systemd-run -M "$n" --wait -q "$@"
}
# booted_default_is NAME TARGET: the booted sandbox NAME's default target is TARGET, and it is active.
booted_default_is() {
        in_booted "$1" /bin/sh -c "[ \"\$(systemctl get-default)\" = $2 ]" && in_booted "$1" /bin/systemctl is-active --quiet "$2"
}
# host_dir_is_roots DIR: DIR and everything in it is root's and writable by nobody else.
host_dir_is_roots() {
        [ -z "$(find "$1" \( ! -uid 0 -o -perm /022 \) ! -type l)" ] && [ -n "$(find "$1" -type f)" ]
}
# doctor_limit_is CHECK STATUS TEXT: `sandyctl doctor --json` has the row CHECK with STATUS, its detail
# containing TEXT.
doctor_limit_is() {
        sandyctl --json=short doctor 2>/dev/null | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["check"] == sys.argv[1]]
ok = len(rows) == 1 and rows[0]["status"] == sys.argv[2] and sys.argv[3] in rows[0]["detail"]
print(rows)
sys.exit(0 if ok else 1)' "$1" "$2" "$3"
}
# doctor_limit_fix_has CHECK TEXT: the row CHECK of `sandyctl doctor --json` has a fix containing TEXT.
doctor_limit_fix_has() {
        sandyctl --json=short doctor 2>/dev/null | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["check"] == sys.argv[1]]
sys.exit(0 if len(rows) == 1 and sys.argv[2] in rows[0].get("fix", "") else 1)' "$1" "$2"
}
