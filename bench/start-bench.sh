#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Start and exec latency of a sandbox, against peers measured in the same run (informational; never
# pass/fail):
#   start:  systemctl start sandy@NAME until `machinectl shell agent@NAME /bin/true` works (booted,
#           ephemeral), with the fixture image as it is and padded to ~1.8 GB (size must not matter)
#   peers:  systemd-nspawn --volatile=overlay -D ROOT /bin/true (not booted: the floor of nspawn itself);
#           with --against OLD-DESTDIR, the same start with that other installation of sandy, in a second
#           test host, run by run alternately with this one
#   exec:   sandyctl exec NAME -- true, against nsenter -t LEADER -a true; as a member of group sandy
#           (through sandy-helper and a transient unit) too
#
#   bench/start-bench.sh DESTDIR [--against OLD-DESTDIR] [--suite bookworm|trixie] [--name N] [--runs N]
#                        [--exec-only]
#       boots test hosts (tests/testhost/testhost.sh) with DESTDIR (and OLD-DESTDIR) installed and runs
#       the steps below inside them
#   bench/start-bench.sh --inside STEP [--runs N]   (inside a test host or any host with sandy installed)
#       STEP: setup (declare and seed, one warm-up start), start (one start, prints ms), pad, unpad,
#       nspawn (one nspawn run, prints ms), exec (the exec medians), teardown
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=5
suite=bookworm
name=bench
inside=
exec_only=0
destdir=
against=
while [[ $# -gt 0 ]]; do
        case $1 in
        --inside) inside=$2; shift 2 ;;
        --exec-only) exec_only=1; shift ;;
        --against) against=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) destdir=$1; shift ;;
        esac
done
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

if [[ -z $inside ]]; then
        [[ -n $destdir ]] || { echo "usage: $0 DESTDIR [--against OLD-DESTDIR] [--suite S] [--name N] [--runs N]" >&2; exit 2; }
        th() { "$here/../tests/testhost/testhost.sh" "$@"; }
        hosts=("$name")
        [[ -n $against ]] && hosts+=("${name}o")
        "$here/../tests/testhost/build-fixture.sh" --quiet >/dev/null
        trap 'for h in "${hosts[@]}"; do th stop --name "$h" >/dev/null 2>&1 || true; done' EXIT
        th start --name "$name" --suite "$suite" --install "$destdir" --bind-ro "$(cd "$here/.." && pwd):/src" >/dev/null
        [[ -n $against ]] && th start --name "${name}o" --suite "$suite" --install "$against" \
                --bind-ro "$(cd "$here/.." && pwd):/src" >/dev/null
        step() { local h=$1; shift; th exec --name "$h" -- /bin/bash /src/bench/start-bench.sh --runs "$runs" --inside "$@"; }
        for h in "${hosts[@]}"; do step "$h" setup; done
        echo "$(nproc) CPUs; systemd $(th exec --name "$name" -- systemctl --version | awk 'NR==1 {print $2}'); medians of $runs runs"
        if [[ $exec_only = 0 ]]; then
                all_new="" all_old=""
                for pad in as-is padded; do
                        [[ $pad = padded ]] && for h in "${hosts[@]}"; do step "$h" pad; done
                        declare -A starts=()
                        nspawn=()
                        # Run by run, alternately, so that both see the same machine load.
                        for _ in $(seq "$runs"); do
                                for h in "${hosts[@]}"; do starts[$h]+="$(step "$h" start) "; done
                                nspawn+=("$(step "$name" nspawn)")
                        done
                        new=$(printf '%s\n' ${starts[$name]} | median)
                        peer=$(printf '%s\n' "${nspawn[@]}" | median)
                        line="start to shell (booted), image $pad: ${new} ms   nspawn --volatile=overlay /bin/true: ${peer} ms   ratio $(ratio "$new" "$peer")"
                        if [[ -n $against ]]; then
                                old=$(printf '%s\n' ${starts[${name}o]} | median)
                                line+="   old sandy: ${old} ms   new/old $(ratio "$new" "$old") (target <= 1.10x)"
                        fi
                        echo "$line"
                        all_new+=" ${starts[$name]}"
                        [[ -n $against ]] && all_old+=" ${starts[${name}o]}"
                        unset starts
                done
                if [[ -n $against ]]; then
                        new=$(printf '%s\n' $all_new | median)
                        old=$(printf '%s\n' $all_old | median)
                        echo "start to shell, all $((2 * runs)) runs each: ${new} ms, old sandy ${old} ms, new/old $(ratio "$new" "$old") (target <= 1.10x)"
                fi
                for h in "${hosts[@]}"; do step "$h" unpad; done
        fi
        step "$name" exec
        for h in "${hosts[@]}"; do step "$h" teardown; done
        exit
fi

. /src/tests/e2e/lib.sh
. /src/tests/e2e/sandbox-lib.sh
fixture=$(fixture_dir) || { echo "SKIP: no fixture"; exit 77; }

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'; }

case $inside in
setup)
        # Owner=alice: a member's exec below (an older sandy ignores the key, with a warning).
        ensure_members alice
        declare_sandbox bench <<EOF
[Sandbox]
Owner=alice
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF
        seed_user_image bench
        # Warm the page cache and the UID range allocation.
        systemctl start sandy@bench.service
        wait_for 60 machinectl --quiet shell agent@bench /bin/true
        systemctl stop sandy@bench.service
        ;;
start)
        # One run: start, poll a login shell until it works, stop. Prints milliseconds to the shell.
        t0=$(now)
        systemctl start sandy@bench.service
        until machinectl --quiet shell agent@bench /bin/true >/dev/null 2>&1; do sleep 0.01; done
        t1=$(now)
        ms "$t0" "$t1"
        systemctl stop sandy@bench.service
        ;;
nspawn)
        rootfs=$(image_rootfs bench)
        t0=$(now)
        systemd-nspawn -q --register=no --volatile=overlay -D "$rootfs" /bin/true
        t1=$(now)
        ms "$t0" "$t1"
        ;;
pad)
        # ~1.8 GB of data that must not be read or copied at start.
        rootfs=$(image_rootfs bench)
        pad=$(( (1800 - $(du -sm --apparent-size "$rootfs" | cut -f1)) ))
        [ "$pad" -gt 0 ] && head -c "${pad}M" /dev/urandom >"$rootfs/opt/sandy-bench-pad"
        sync
        ;;
unpad)
        rm -f "$(image_rootfs bench)/opt/sandy-bench-pad"
        ;;
exec)
        systemctl start sandy@bench.service
        wait_for 30 machinectl --quiet shell agent@bench /bin/true
        pid=$(leader bench)
        exec_runs=$((runs * 10))
        # Root's first exec keeps the payload's seccomp filter for members (see tests/e2e/65).
        sandyctl exec bench -- true
        exec_once() { local t0 t1; t0=$(now); sandyctl exec bench -- true; t1=$(now); ms "$t0" "$t1"; }
        nsenter_once() { local t0 t1; t0=$(now); nsenter -t "$pid" -a true; t1=$(now); ms "$t0" "$t1"; }
        true_once() { local t0 t1; t0=$(now); /bin/true; t1=$(now); ms "$t0" "$t1"; }
        member_once() { local t0 t1; t0=$(now); as_user alice sandyctl --no-ask-password exec bench -- true; t1=$(now); ms "$t0" "$t1"; }
        # Interleaved, so that both see the same load.
        e=() n=() t=()
        for _ in $(seq "$exec_runs"); do e+=("$(exec_once)"); n+=("$(nsenter_once)"); t+=("$(true_once)"); done
        exec_ms=$(printf '%s\n' "${e[@]}" | median)
        nsenter_ms=$(printf '%s\n' "${n[@]}" | median)
        true_ms=$(printf '%s\n' "${t[@]}" | median)
        # A member of group sandy allowed on the sandbox goes through sandy-helper (D-Bus, polkit) and a
        # transient unit to the same code.
        m=()
        for _ in $(seq "$runs"); do m+=("$(member_once)"); done
        member_ms=$(printf '%s\n' "${m[@]}" | median)
        systemctl stop sandy@bench.service
        echo "sandyctl exec -- true: ${exec_ms} ms   nsenter -t PID -a true: ${nsenter_ms} ms   difference $(awk -v a="$exec_ms" -v b="$nsenter_ms" 'BEGIN { printf "%.1f", a - b }') ms (target < 10 ms)   (medians of $exec_runs, interleaved; fork+exec of /bin/true from bash: ${true_ms} ms)"
        echo "sandyctl exec -- true as a member of group sandy (sandy-helper, transient unit): ${member_ms} ms (median of $runs)"
        ;;
teardown)
        systemctl stop sandy@bench.service 2>/dev/null || true
        remove_sandbox bench
        ;;
*)
        echo "unknown step $inside" >&2
        exit 2
        ;;
esac
