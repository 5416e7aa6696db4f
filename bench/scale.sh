#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many sandboxes at once (issue 17; informational, never pass/fail). For each N: declare N sandboxes
# (Mode=lenient: netns, veth, nft set elements, dnsmasq each), start them with one
# `systemctl start --no-block`, and print
#   - the time until all answer (Boot=no: `sandyctl exec NAME -- true`; Boot=yes: a command through the
#     sandbox's own systemd, `systemd-run -M NAME --wait true`), and per sandbox against N=1 of the same
#     kind in the same run (the peer),
#   - failures (not active, or not answering within the deadline) and units still activating,
#   - memory per sandbox: PSS of its processes (sandy@NAME.service: nspawn and the payload) and of its
#     dnsmasq; memory.current (cgroup2) or memory.usage_in_bytes (v1) where the test host has a memory
#     controller (testhost.sh --cgroup legacy),
#   - inotify instances per sandbox and in the whole test host (all of them are charged to root in the
#     initial user namespace, against fs.inotify.max_user_instances),
#   - the time of one `systemctl stop` of all, per sandbox against N=1, and what is left afterwards:
#     failed units, machines, netns pins, sb- links, sandbox links named in nft elements, mounts, dnsmasq.
#
#   bench/scale.sh DESTDIR [--suite S] [--name N] [--cgroup legacy] [--noboot "10 50 100"] [--boot "10 25 50"]
#       boots a test host (tests/testhost/testhost.sh) with DESTDIR installed and runs itself inside
#   bench/scale.sh --inside [--noboot LIST] [--boot LIST] [--deadline SECONDS]
#       in a running test host (or any host with sandy installed and the fixture image)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm name=scale inside=0 destdir="" cgroup=unified
noboot="10 50 100" boot="10 25 50" deadline=600
while [[ $# -gt 0 ]]; do
        case $1 in
        --inside) inside=1; shift ;;
        --suite) suite=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        --cgroup) cgroup=$2; shift 2 ;;
        --noboot) noboot=$2; shift 2 ;;
        --boot) boot=$2; shift 2 ;;
        --deadline) deadline=$2; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) destdir=$1; shift ;;
        esac
done
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
for n in $noboot $boot $deadline; do [[ $n =~ ^[1-9][0-9]{0,3}$ ]] || { echo "not a count: $n" >&2; exit 2; }; done

if [[ $inside = 0 ]]; then
        [[ -n $destdir ]] || { echo "usage: $0 DESTDIR [--suite S] [--name N] [--cgroup legacy] [--noboot LIST] [--boot LIST]" >&2; exit 2; }
        th() { "$here/../tests/testhost/testhost.sh" "$@"; }
        "$here/../tests/testhost/build-fixture.sh" --quiet >/dev/null
        th start --name "$name" --suite "$suite" --install "$destdir" --cgroup "$cgroup" \
                --bind-ro "$(cd "$here/.." && pwd):/src" >/dev/null
        trap 'th stop --name "$name" >/dev/null 2>&1 || true' EXIT
        th exec --name "$name" -- /bin/bash /src/bench/scale.sh --inside --noboot "$noboot" --boot "$boot" \
                --deadline "$deadline"
        exit
fi

. /src/tests/e2e/lib.sh
fixture_dir >/dev/null || { echo "SKIP: no fixture image"; exit 77; }
set +e # the measurements below count failures; they must not end the run

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
div3() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

# The processes of a unit (its whole cgroup subtree), wherever the name=systemd/unified tree is.
unit_pids() {
        local cg root
        cg=$(systemctl show -p ControlGroup --value "$1")
        [ -n "$cg" ] || return 0
        for root in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
                [ -e "$root$cg/cgroup.procs" ] || continue
                find "$root$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
                return 0
        done
}
# pss_kib PID...: the sum of their PSS.
pss_kib() {
        local p s=0 v
        for p in "$@"; do
                v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
                s=$((s + ${v:-0}))
        done
        echo "$s"
}
# inotify_of PID...: inotify instances they hold (fds on anon_inode:inotify); all_inotify: of every process.
inotify_of() {
        [ $# -gt 0 ] || { echo 0; return; }
        find "${@/#//proc/}" -maxdepth 2 -path '*/fd/*' -lname 'anon_inode:inotify' 2>/dev/null | wc -l
}
all_inotify() {
        find /proc/[0-9]*/fd -lname 'anon_inode:inotify' 2>/dev/null | wc -l
}
# memory_current UNIT: bytes charged to the unit's cgroup, or "-" without a memory controller.
memory_current() {
        local cg f
        cg=$(systemctl show -p ControlGroup --value "$1")
        for f in "/sys/fs/cgroup$cg/memory.current" "/sys/fs/cgroup/memory$cg/memory.usage_in_bytes"; do
                [ -r "$f" ] && { cat "$f"; return; }
        done
        echo -
}
# left PREFIX: what is left of PREFIX1..N: failed units, machines, netns pins, links, nft
# elements, mounts, dnsmasq.
left() {
        local re="^$1[0-9]+\$"
        printf 'failed %s machines %s netns %s links %s nft_links %s mounts %s dnsmasq %s' \
                "$(systemctl list-units --all --no-legend --plain "sandy@$1*" "sandy-net@$1*" "sandy-dns@$1*" "sandy-dns-inside@$1*" | awk '$3 == "failed"' | wc -l)" \
                "$(machinectl list --no-legend 2>/dev/null | awk '{print $1}' | grep -cE "$re")" \
                "$(ls /run/sandy/netns 2>/dev/null | grep -cE "$re")" \
                "$(ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -c '^sb-')" \
                "$(nft list table inet sandy 2>/dev/null | grep -oE '"sb-[0-9a-f]{12}"' | sort -u | wc -l)" \
                "$(grep -cE " /run/sandy/$1[0-9]+/" /proc/self/mountinfo)" \
                "$(pgrep -fa dnsmasq | grep -cE "/run/sandy/net/$1[0-9]+/")"
}
answers() { # answers KIND NAME
        if [ "$1" = boot ]; then
                timeout 30 systemd-run -M "$2" --quiet --wait --collect /bin/true >/dev/null 2>&1
        else
                timeout 30 sandyctl exec "$2" -- true </dev/null >/dev/null 2>&1
        fi
}

seeded=""
# run KIND N: one round; prints one block and sets per_start/per_stop (seconds per sandbox).
run() {
        local kind=$1 n=$2 p="s${1:0:1}" i names=() units=() t0 t1 t_all="" pending ok failed activating
        local lines
        [ "$kind" = boot ] && lines="" || lines=$'Boot=no\nCommand=/bin/sleep infinity'
        declare_many "$p" "$n" "$lines" lenient >/dev/null 2>&1 || { echo "cannot declare"; return 1; }
        if [[ " $seeded " != *" $kind "* ]]; then
                seed_image "${p}1" || { echo "cannot build the image"; return 1; }
                seeded="$seeded $kind"
        fi
        for ((i = 1; i <= n; i++)); do names+=("$p$i"); units+=("sandy@$p$i.service"); done

        t0=$(now)
        systemctl start --no-block "${units[@]}"
        pending=("${names[@]}")
        local end=$((SECONDS + deadline)) st still jobs
        while [ ${#pending[@]} -gt 0 ] && [ $SECONDS -lt $end ]; do
                still=()
                jobs=" $(systemctl list-jobs --no-legend --plain 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')"
                for i in "${pending[@]}"; do
                        st=$(systemctl show -p ActiveState --value "sandy@$i.service")
                        case $st in
                        active) answers "$kind" "$i" || still+=("$i") ;;
                        activating | reloading) still+=("$i") ;;
                        inactive) [[ $jobs == *" sandy@$i.service "* ]] && still+=("$i") ;; # its start job is queued
                        *) ;; # failed: counted below
                        esac
                done
                pending=("${still[@]}")
                [ ${#pending[@]} -gt 0 ] && sleep 0.5
        done
        t1=$(now)
        ok=0 failed=0 activating=0
        for i in "${names[@]}"; do
                st=$(systemctl show -p ActiveState --value "sandy@$i.service")
                if [ "$st" = activating ]; then activating=$((activating + 1))
                elif [ "$st" = active ] && [[ " ${pending[*]} " != *" $i "* ]]; then ok=$((ok + 1))
                else failed=$((failed + 1)); fi
        done
        t_all=$(secs "$t0" "$t1")

        # Memory and inotify, over the sandboxes that run.
        local pss=0 dpss=0 mem=0 memn=0 ino=0 cnt=0 pids dp m
        for i in "${names[@]}"; do
                systemctl -q is-active "sandy@$i.service" || continue
                mapfile -t pids < <(unit_pids "sandy@$i.service")
                mapfile -t dp < <(unit_pids "sandy-dns@$i.service")
                pss=$((pss + $(pss_kib "${pids[@]}")))
                dpss=$((dpss + $(pss_kib "${dp[@]}")))
                ino=$((ino + $(inotify_of "${pids[@]}")))
                m=$(memory_current "sandy@$i.service")
                [ "$m" != - ] && { mem=$((mem + m)); memn=$((memn + 1)); }
                cnt=$((cnt + 1))
        done
        local all_ino
        all_ino=$(all_inotify)

        t0=$(now)
        systemctl stop "${units[@]}"
        t1=$(now)
        local t_stop t_gone
        t_stop=$(secs "$t0" "$t1")
        wait_for 120 nothing_left_of "$p" # the network units stop in jobs of their own, after
        t_gone=$(secs "$t0" "$(now)")
        local leftover
        leftover=$(left "$p")

        printf '%s N=%d: all answering %ss (%s s/sandbox), ok %d, failed %d, still activating %d\n' \
                "$kind" "$n" "$t_all" "$(div "$t_all" "$n")" "$ok" "$failed" "$activating"
        printf '  per sandbox: PSS %s MiB (+ dnsmasq %s MiB), memory.current %s MiB, inotify instances %s; test host inotify total %s (limit %s)\n' \
                "$(div "$pss" "$((cnt * 1024))")" "$(div "$dpss" "$((cnt * 1024))")" \
                "$( [ "$memn" -gt 0 ] && div "$((mem / 1048576))" "$memn" || echo n/a)" "$(div "$ino" "$cnt")" \
                "$all_ino" "$(cat /proc/sys/fs/inotify/max_user_instances)"
        printf '  one systemctl stop of all: %ss (%s s/sandbox), everything gone after %ss; left: %s\n' \
                "$t_stop" "$(div "$t_stop" "$n")" "$t_gone" "$leftover"
        per_start=$(div3 "$t_all" "$n") per_stop=$(div3 "$t_stop" "$n") per_gone=$(div3 "$t_gone" "$n")

        for i in "${names[@]}"; do rm -f "/etc/sandy.d/$i.sandbox"; done
        systemctl reset-failed "sandy@$p*" "sandy-net@$p*" "sandy-dns@$p*" 2>/dev/null
        systemctl daemon-reload
}

for p in sn sb; do
        nothing_left_of "$p" >/dev/null || { echo "SKIP: sandboxes $p* of an earlier run are still there:"; nothing_left_of "$p"; exit 77; }
done
echo "$(. /etc/os-release; echo "$PRETTY_NAME"), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), $(nproc) CPUs, cgroup $(stat -f -c %T /sys/fs/cgroup)"
for kind in noboot boot; do
        [ "$kind" = boot ] && list=$boot || list=$noboot
        run "$kind" 1 >/dev/null # the peer: one sandbox of this kind, after a warm-up round
        run "$kind" 1
        p1_start=$per_start p1_stop=$per_stop p1_gone=$per_gone
        for n in $list; do
                run "$kind" "$n"
                echo "  against N=1, per sandbox: start $(div "$per_start" "$p1_start")x, stop $(div "$per_stop" "$p1_stop")x, until gone $(div "$per_gone" "$p1_gone")x"
        done
done
